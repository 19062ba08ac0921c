"""The model registry's Python SDK and ``mreg`` command line."""

from importlib import metadata

from mreg.client import Client, PullResult, PushResult
from mreg.errors import MregError

__all__ = ["Client", "MregError", "PullResult", "PushResult"]
try:  # the version of the distribution mreg ships in (pyproject.toml), not a second literal
    __version__ = metadata.version("modelregistry-client")
except metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
