"""How a set of signed artifacts is laid out in an OCI registry and in a static folder.

OCI (one manifest per published set, the image-spec 1.1 artifact guidance)::

    {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "artifactType": "application/vnd.poortwachter.bundle.v1+json",
     "config": <the empty descriptor {} (application/vnd.oci.empty.v1+json)>,
     "layers": [{"mediaType": "application/vnd.poortwachter.bundle.v1+json", "digest", "size",
                 "annotations": {"org.opencontainers.image.title": "<name>-<version>.bundle.json",
                                 "org.opencontainers.image.version", "io.poortwachter.bundle.name", …}}, …],
     "annotations": {"org.opencontainers.image.created", "org.opencontainers.image.revision", …}}

Each layer is one artifact file exactly as ``poortwachter build`` wrote it: its signed manifest and signature
travel inside. The annotations are for people and registry UIs; nothing trusts them (the puller verifies the
signature of every artifact before anything is activated).

Static (``publish --to DIR``): the artifact files beside an ``index.json`` listing them by path, digest and
size, with the same annotations. Any web server or object store serves that folder.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ..artifact import MAX_ARTIFACT_BYTES, ArtifactError, Manifest

__all__ = ["ARTIFACT_TYPE", "EMPTY", "EMPTY_TYPE", "INDEX_TYPE", "MANIFEST_TYPE", "MAX_LAYERS", "Blob", "Described",
           "describe", "index_document", "manifest_document", "read_index", "read_manifest", "sha256"]

ARTIFACT_TYPE = "application/vnd.poortwachter.bundle.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY = b"{}"
INDEX_TYPE = "application/vnd.poortwachter.index.v1+json"
MAX_LAYERS = 100  # a published set is a handful of bundles; more is a mistake or an attack
MAX_DOCUMENT_BYTES = 1_000_000  # a manifest or index listing at most MAX_LAYERS artifacts
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.bundle\.json$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_NS = "io.poortwachter.bundle."


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    """One artifact to fetch: its file name, digest and size as the manifest or index lists them."""

    file: str
    digest: str
    size: int


@dataclass(frozen=True)
class Described:
    """An artifact file read for publishing: its bytes, digest and what its (unverified) manifest says."""

    file: str
    raw: bytes
    digest: str
    manifest: Manifest

    def annotations(self) -> dict[str, str]:
        m = self.manifest
        return {"org.opencontainers.image.title": self.file, "org.opencontainers.image.version": m.version,
                f"{_NS}name": m.name, f"{_NS}version": m.version, f"{_NS}effective_from": m.effective_from,
                f"{_NS}revision": m.revision, f"{_NS}key_id": m.key_id,
                f"{_NS}source_revision": m.source_revision}


def describe(raw: bytes, where: str) -> Described:
    """An artifact's manifest, read without its key (publishing needs no trust; pulling verifies). The
    format is checked so that a file that is no artifact at all is not published."""
    if len(raw) > MAX_ARTIFACT_BYTES:
        raise ArtifactError(f"{where}: larger than {MAX_ARTIFACT_BYTES} bytes")
    try:
        doc = orjson.loads(raw)
        plain = doc["manifest"]
        manifest = Manifest(**{k: plain[k] for k in Manifest.__dataclass_fields__})
    except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
        raise ArtifactError(f"{where}: not a poortwachter bundle artifact ({exc})") from None
    return Described(f"{manifest.name}-{manifest.version}.bundle.json", raw, sha256(raw), manifest)


def _set_annotations(items: list[Described], now: datetime) -> dict[str, str]:
    revisions = sorted({d.manifest.source_revision for d in items})
    return {"org.opencontainers.image.created": now.astimezone(UTC).isoformat(timespec="seconds"),
            "org.opencontainers.image.revision": ",".join(revisions),
            "org.opencontainers.image.title": "poortwachter bundles",
            "io.poortwachter.bundles": ",".join(f"{d.manifest.name}@{d.manifest.version}" for d in items)}


def manifest_document(items: list[Described], now: datetime) -> bytes:
    """The OCI image manifest of a published set (see the module docstring)."""
    layers = [{"mediaType": ARTIFACT_TYPE, "digest": d.digest, "size": len(d.raw), "annotations": d.annotations()}
              for d in items]
    doc = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "artifactType": ARTIFACT_TYPE,
           "config": {"mediaType": EMPTY_TYPE, "digest": sha256(EMPTY), "size": len(EMPTY)},
           "layers": layers, "annotations": _set_annotations(items, now)}
    return orjson.dumps(doc)


def index_document(items: list[Described], now: datetime) -> bytes:
    """The index.json of a static layout."""
    doc = {"mediaType": INDEX_TYPE, "artifacts": [
        {"path": d.file, "digest": d.digest, "size": len(d.raw), "annotations": d.annotations()} for d in items],
        "annotations": _set_annotations(items, now)}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def _load(raw: bytes, what: str) -> dict[str, Any]:
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ArtifactError(f"{what}: larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ArtifactError(f"{what}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ArtifactError(f"{what}: not a JSON object")
    return doc


def _blob(entry: Any, file_key: str, what: str) -> Blob:
    """One listed artifact, its fields checked (a file name is a plain name: never a path)."""
    if not isinstance(entry, dict):
        raise ArtifactError(f"{what}: an entry is not an object")
    annotations: dict[str, Any] = entry["annotations"] if isinstance(entry.get("annotations"), dict) else {}
    file = entry.get(file_key) if file_key != "title" else annotations.get("org.opencontainers.image.title")
    digest, size = entry.get("digest"), entry.get("size")
    if not isinstance(file, str) or not _FILE.match(file):
        raise ArtifactError(f"{what}: {file!r} is not a plain <name>-<version>.bundle.json file name")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ArtifactError(f"{what}: {file}: digest {digest!r} is not sha256:<64 hex>")
    if not isinstance(size, int) or not 0 < size <= MAX_ARTIFACT_BYTES:
        raise ArtifactError(f"{what}: {file}: size {size!r} is not between 1 and {MAX_ARTIFACT_BYTES} bytes")
    return Blob(file, digest, size)


def _bounded(blobs: list[Blob], what: str) -> list[Blob]:
    if not blobs:
        raise ArtifactError(f"{what}: lists no bundle artifacts")
    if len(blobs) > MAX_LAYERS:
        raise ArtifactError(f"{what}: lists {len(blobs)} artifacts (at most {MAX_LAYERS})")
    if len({b.file for b in blobs}) != len(blobs):
        raise ArtifactError(f"{what}: lists one file name twice")
    return blobs


def read_manifest(raw: bytes, what: str) -> list[Blob]:
    """The artifacts an OCI manifest lists; ArtifactError when it is not a poortwachter bundle set."""
    doc = _load(raw, what)
    if doc.get("mediaType") != MANIFEST_TYPE or doc.get("artifactType") != ARTIFACT_TYPE:
        raise ArtifactError(f"{what}: not a poortwachter bundle set (mediaType {doc.get('mediaType')!r}, "
                            f"artifactType {doc.get('artifactType')!r}; expected {MANIFEST_TYPE}, {ARTIFACT_TYPE})")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise ArtifactError(f"{what}: no layers")
    blobs = []
    for layer in layers:
        if not isinstance(layer, dict) or layer.get("mediaType") != ARTIFACT_TYPE:
            raise ArtifactError(f"{what}: a layer is not a {ARTIFACT_TYPE}")
        blobs.append(_blob(layer, "title", what))
    return _bounded(blobs, what)


def read_index(raw: bytes, what: str) -> list[Blob]:
    """The artifacts a static index.json lists; ArtifactError when it is not one."""
    doc = _load(raw, what)
    if doc.get("mediaType") != INDEX_TYPE or not isinstance(doc.get("artifacts"), list):
        raise ArtifactError(f"{what}: not a poortwachter index (mediaType {doc.get('mediaType')!r}, "
                            f"expected {INDEX_TYPE} with a list of artifacts)")
    return _bounded([_blob(entry, "path", what) for entry in doc["artifacts"]], what)
