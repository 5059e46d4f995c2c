"""Ed25519 signing keys for bundle artifacts.

A keyring is a folder of public keys, ``<key-id>.pub`` (PEM); an artifact names the key id that
signed it. Private keys never enter the service: only `poortwachter build` reads one. See
docs/keys.md for how production keys are made and kept; keys/dev-signing.* is a DEVELOPMENT key
for the embedded bundles and is public on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

Keyring = dict[str, Ed25519PublicKey]

DEV_KEY_ID = "dev-signing"
# The DEV public key (keys/dev-signing.pub) as raw bytes, here so it is recognised even where the file is not
# shipped (the container image removes it); tests/distribution/test_dev_key.py checks the two agree.
DEV_PUBLIC_KEY = bytes.fromhex("2165e9a92ce8f79bbe432addcdd672d810251fe046888c7d9b7aad413c613c77")
DEV_KEY_REFUSED = ("the DEV key (keys/dev-signing.*, its private half is public) is not trusted outside the embedded "
                   "default bundles: sign with your own key (docs/keys.md), or set trust_dev_key: true for development")


def generate(private_path: Path, public_path: Path) -> None:
    """Write a new key pair (private key file mode 0600)."""
    key = Ed25519PrivateKey.generate()
    private_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    private_path.chmod(0o600)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def load_private(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_keyring(*folders: Path) -> Keyring:
    """Every ``*.pub`` in ``folders`` by key id (file stem); ValueError on the first unusable key file."""
    ring: Keyring = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.pub")):
            ring[path.stem] = _public(path)
    return ring


def read_keyring(*folders: Path) -> tuple[Keyring, dict[str, str]]:
    """Like :func:`load_keyring`, for a running service re-reading its keys on every reload: an unusable or
    missing key file or folder is left out (fail closed: what it signed is refused) and reported, path → why."""
    ring: Keyring = {}
    problems: dict[str, str] = {}
    for folder in folders:
        if not Path(folder).is_dir():
            problems[str(folder)] = "the keys folder is missing: no key in it is trusted"
            continue
        for path in sorted(Path(folder).glob("*.pub")):
            try:
                ring[path.stem] = _public(path)
            except (OSError, ValueError) as exc:
                problems[str(path)] = f"not trusted: {exc}"
    return ring, problems


def fingerprint(key: Ed25519PublicKey) -> bytes:
    """The raw 32 public-key bytes: whether a key id still names the key an artifact was verified with."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def dev_fingerprint() -> bytes:
    """The DEV public key's raw bytes: it is refused by what it is, under whatever file name it is copied."""
    return DEV_PUBLIC_KEY


def refuse(ring: Keyring, refused: Mapping[bytes, str]) -> tuple[Keyring, dict[str, str]]:
    """``ring`` without the keys whose raw bytes are in ``refused``, and why each was left out (by key id)."""
    kept: Keyring = {}
    problems: dict[str, str] = {}
    for key_id, key in ring.items():
        why = refused.get(fingerprint(key))
        if why is None:
            kept[key_id] = key
        else:
            problems[f"key {key_id}"] = why
    return kept, problems


def _public(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key
