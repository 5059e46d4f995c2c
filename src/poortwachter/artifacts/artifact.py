"""Signed, versioned bundle artifacts: one JSON file per bundle version.

    {"format": "poortwachter-bundle/1",
     "manifest": {name, version, effective_from, extends, source_revision, sha256, key_id},
     "signature": "<base64 Ed25519 signature of the canonical manifest>",
     "content": <bundle content, see core.policy.content>}

The manifest carries the sha256 of the canonical content, the signature covers the manifest: a
changed byte anywhere fails verification. Loading refuses anything unsigned, signed by an unknown
key, tampered with, or whose content no longer validates.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..core.errors import BundleError
from ..core.policy.compile import CompiledBundle, compile_bundle
from ..core.policy.content import bundle_from_content
from ..core.policy.model import Bundle
from ..core.policy.source import from_plain, to_plain
from .keys import Keyring

FORMAT = "poortwachter-bundle/1"
SUFFIX = ".bundle.json"
MAX_ARTIFACT_BYTES = 20_000_000  # a bundle is text; a larger file is a mistake or an attack


class ArtifactError(BundleError):
    """An artifact was refused; the message says which file and why."""


def canonical(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class Manifest:
    name: str
    version: str
    effective_from: str
    extends: str | None
    source_revision: str
    sha256: str
    key_id: str

    @property
    def revision(self) -> str:
        return f"sha256:{self.sha256}"


def build(bundle: Bundle, content: dict[str, Any], key: Ed25519PrivateKey, key_id: str,
          source_revision: str, out_dir: Path) -> Path:
    """Write ``<name>-<version>.bundle.json`` into ``out_dir`` and return its path."""
    plain = to_plain(content)
    manifest = {
        "name": bundle.name, "version": bundle.version, "effective_from": bundle.effective_from.isoformat(),
        "extends": bundle.extends, "source_revision": source_revision,
        "sha256": hashlib.sha256(canonical(plain)).hexdigest(), "key_id": key_id,
    }
    signature = base64.b64encode(key.sign(canonical(manifest))).decode()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{bundle.name}-{bundle.version}{SUFFIX}"
    document = {"format": FORMAT, "manifest": manifest, "signature": signature, "content": plain}
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    return path


def verify(raw: bytes, keyring: Keyring, where: str) -> tuple[Manifest, dict[str, Any]]:
    """Check format, signature and hash; return the manifest and the (line-annotated) content."""
    if len(raw) > MAX_ARTIFACT_BYTES:
        raise ArtifactError(f"{where}: larger than {MAX_ARTIFACT_BYTES} bytes")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ArtifactError(f"{where}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ArtifactError(f"{where}: not a {FORMAT} artifact")
    manifest, signature, content = doc.get("manifest"), doc.get("signature"), doc.get("content")
    if not isinstance(manifest, dict) or not isinstance(content, dict):
        raise ArtifactError(f"{where}: manifest or content missing")
    if not isinstance(signature, str) or not signature:
        raise ArtifactError(f"{where}: unsigned artifact refused")
    key_id = manifest.get("key_id")
    key = keyring.get(key_id) if isinstance(key_id, str) else None
    if key is None:
        raise ArtifactError(f"{where}: signed with key {key_id!r}, which is not among the trusted keys "
                            f"({', '.join(sorted(keyring)) or 'none configured'})")
    try:
        key.verify(base64.b64decode(signature, validate=True), canonical(manifest))
    except (InvalidSignature, ValueError):
        raise ArtifactError(f"{where}: signature does not match the manifest (tampered or wrong key)") from None
    digest = hashlib.sha256(canonical(content)).hexdigest()
    if digest != manifest.get("sha256"):
        raise ArtifactError(f"{where}: content hash {digest[:12]}… differs from the signed manifest "
                            f"({str(manifest.get('sha256'))[:12]}…): content was changed after signing")
    try:
        parsed = Manifest(**{k: manifest.get(k) for k in Manifest.__dataclass_fields__})  # type: ignore[arg-type]
    except TypeError as exc:
        raise ArtifactError(f"{where}: malformed manifest ({exc})") from None
    return parsed, from_plain(content)


def load_bytes(raw: bytes, keyring: Keyring, where: str) -> tuple[Manifest, CompiledBundle]:
    """Verify, validate and compile one artifact already read into memory (the store archives exactly
    the bytes it verified)."""
    manifest, content = verify(raw, keyring, where)
    try:
        bundle, _ = bundle_from_content(content)
    except BundleError as exc:
        raise ArtifactError(f"{where}: content does not validate: {exc}") from None
    if (bundle.name, bundle.version) != (manifest.name, manifest.version):
        raise ArtifactError(f"{where}: manifest says {manifest.name}@{manifest.version}, content {bundle.key}")
    return manifest, compile_bundle(bundle, manifest.revision)


def load(path: Path, keyring: Keyring) -> tuple[Manifest, CompiledBundle]:
    """Verify, validate and compile one artifact file."""
    return load_bytes(path.read_bytes(), keyring, str(path))
