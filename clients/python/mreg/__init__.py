"""The model registry's Python SDK and ``mreg`` command line."""

from mreg.client import Client, PullResult, PushResult
from mreg.errors import MregError

__all__ = ["Client", "MregError", "PullResult", "PushResult"]
__version__ = "0.1.0"
