"""Where bundles are published to and pulled from: an OCI reference, an index URL, or a folder.

    oci://HOST[:PORT]/REPO:TAG            a tag in an OCI registry (polled: the tag may move)
    oci://HOST[:PORT]/REPO@sha256:HEX     one manifest, pinned by digest (immutable)
    https://HOST/PATH/index.json          a static layout (``poortwachter publish --to DIR``) on any web server
    http://127.0.0.1:PORT/.../index.json  plain HTTP, on loopback only

An OCI registry is spoken to over https; only a loopback registry (a test, a node-local mirror) over plain
http. Anything else that is not https is refused: a bundle source decides which law applies, and an
artifact's signature does not stop a man in the middle from replaying an old one or hiding a new one.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ...core.errors import PoortwachterError

__all__ = ["Location", "SourceError", "is_loopback", "parse_location"]

_REPO = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


class SourceError(PoortwachterError, ValueError):
    """A bundle source or target that cannot be used; the message says what is wrong and what would do."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost`` or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Location:
    """A parsed source: ``kind`` is ``oci`` or ``index``."""

    kind: str
    text: str  # as the operator wrote it: the ``source`` label and status field
    base: str  # oci: scheme://host[:port]; index: the index URL
    repository: str = ""
    reference: str = ""  # a tag or a digest

    @property
    def pinned(self) -> bool:
        """A digest never changes: once pulled, there is nothing more to poll."""
        return self.kind == "oci" and self.reference.startswith("sha256:")


def parse_location(text: str) -> Location:
    """A bundle source or publish target; SourceError with the reason when it cannot be used."""
    if text.startswith("oci://"):
        return _oci(text)
    parts = urlsplit(text)
    if parts.scheme == "https" and parts.hostname:
        return Location("index", text, text)
    if parts.scheme == "http" and parts.hostname:
        if not is_loopback(parts.hostname):
            raise SourceError(f"{text}: plain http is accepted on loopback only (127.0.0.1, ::1, localhost); "
                              "serve the index over https")
        return Location("index", text, text)
    raise SourceError(f"{text}: expected oci://HOST[:PORT]/REPO:TAG, oci://HOST[:PORT]/REPO@sha256:…, or an "
                      "https:// URL of an index.json")


def _oci(text: str) -> Location:
    rest = text.removeprefix("oci://")
    host, _, path = rest.partition("/")
    parts = urlsplit(f"//{host}")
    if not host or not parts.hostname or not path:
        raise SourceError(f"{text}: expected oci://HOST[:PORT]/REPO:TAG or oci://HOST[:PORT]/REPO@sha256:…")
    if "@" in path:
        repository, _, reference = path.partition("@")
        if not _DIGEST.match(reference):
            raise SourceError(f"{text}: {reference!r} is not a sha256:<64 hex> digest")
    else:
        repository, sep, reference = path.rpartition(":")
        if not sep:
            raise SourceError(f"{text}: name a tag (REPO:TAG) or a digest (REPO@sha256:…)")
        if not _TAG.match(reference):
            raise SourceError(f"{text}: {reference!r} is not a valid tag")
    if not _REPO.match(repository):
        raise SourceError(f"{text}: {repository!r} is not a valid repository name (lower case, '/'-separated)")
    scheme = "http" if is_loopback(parts.hostname) else "https"
    return Location("oci", text, f"{scheme}://{host}", repository, reference)
