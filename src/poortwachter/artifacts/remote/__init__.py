"""Bundle sets away from this machine: published to and pulled from an OCI registry or a static index.

The layers stay as they are: this package moves bytes and checks digests; trust (signatures, keys,
versions) is decided by whoever loads what it fetched (service/source.py verifies before activating).
"""

from .client import Credentials, Pulled, Remote, RemoteError
from .layout import ARTIFACT_TYPE, INDEX_TYPE, Blob
from .publish import INDEX, publish
from .reference import Location, SourceError, is_loopback, parse_location

__all__ = ["ARTIFACT_TYPE", "INDEX", "INDEX_TYPE", "Blob", "Credentials", "Location", "Pulled", "Remote",
           "RemoteError", "SourceError", "is_loopback", "parse_location", "publish"]
