"""Publishing built artifacts: to an OCI registry under a tag, or as a static layout in a folder."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ..artifact import ArtifactError
from .client import Credentials, Remote
from .layout import Described, describe, index_document, manifest_document
from .reference import SourceError, parse_location

__all__ = ["INDEX", "publish"]

INDEX = "index.json"


def _read(paths: Sequence[Path]) -> list[Described]:
    items = [describe(Path(p).read_bytes(), str(p)) for p in paths]
    seen: dict[str, str] = {}
    for item, path in zip(items, paths, strict=True):
        key = f"{item.manifest.name}@{item.manifest.version}"
        if key in seen:
            raise ArtifactError(f"{path}: {key} is already given by {seen[key]}")
        seen[key] = str(path)
    return sorted(items, key=lambda d: d.file)


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def publish(paths: Sequence[Path], target: str, now: datetime, *, timeout: float = 30.0,
            credentials: Credentials | None = None) -> str:
    """Publish the artifacts as one set; returns where it went (``oci://…@sha256:…`` or the index path).

    A folder target gets the artifacts first and ``index.json`` last (each by atomic rename), so a server
    never lists a file it cannot serve yet; files of earlier sets stay (a poller mid-way still finds them)."""
    items = _read(paths)
    if not items:
        raise ArtifactError("nothing to publish: name at least one artifact")
    if target.startswith("oci://"):
        location = parse_location(target)
        if location.pinned:
            raise SourceError(f"{target}: publish to a tag (REPO:TAG); the digest follows from the content")
        remote = Remote(location, timeout, credentials)
        try:
            digest = remote.push(items, manifest_document(items, now))
        finally:
            remote.close()
        return f"oci://{target.removeprefix('oci://').rpartition(':')[0]}@{digest}"
    if "://" in target:
        raise SourceError(f"{target}: publish to oci://HOST[:PORT]/REPO:TAG or to a folder")
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    for item in items:
        _write(folder / item.file, item.raw)
    _write(folder / INDEX, index_document(items, now))
    return str(folder / INDEX)
