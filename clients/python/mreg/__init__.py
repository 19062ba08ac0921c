"""The model registry's Python SDK and ``mreg`` command line."""

__version__ = "0.1.0"
