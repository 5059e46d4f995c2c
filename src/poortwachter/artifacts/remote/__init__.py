"""Bundle sets away from this machine: published to and pulled from an OCI registry or a static index.

The layers stay as they are: this package moves bytes and checks digests; trust (signatures, keys,
versions) is decided by whoever loads what it fetched (service/source.py verifies before activating).
The package itself exports only where a source is (settings validate it at start); the network code is in
``client`` (httpx), ``layout`` and ``publish``, imported by those who talk to a source.
"""

from .reference import Location, SourceError, is_loopback, parse_location

__all__ = ["Location", "SourceError", "is_loopback", "parse_location"]
