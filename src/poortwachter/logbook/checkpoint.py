"""Signed checkpoints: what makes the decision log tamper-evident *with a key* (issue 12 item 4).

The hash chain alone (each line's ``prev`` is the SHA-256 of the line before) shows accidents and
clumsy edits, but whoever can write the files can also recompute it. So the writer ends every group
commit (and every 256 lines, and every file) with a **checkpoint line** signed with the Ed25519 *log
key*, which lives with the service and never on the log volume::

    {"v":1,"event":"checkpoint","format":1,"segment":"decisions-…-p7.jsonl","number":3,"lines":41,
     "records":38,"head":"<sha256 of line 41>","leaves":["<16 hex>",…],"first_time":"…","last_time":"…",
     "prev_segment":"decisions-…-p7.jsonl"|null,"prev_segment_head":"<sha256>"|null,
     "end":null|"rotated"|"closed","next_segment":null|"…","time":"…","key_id":"<16 hex>","sig":"<base64>",
     "prev":"…"}

- ``segment`` is the file's own name: a renamed or swapped file no longer matches what was signed;
- ``number`` counts the file's checkpoints; ``lines`` is how many lines precede this one: lines
  inserted or removed before it move it;
- ``head`` is the chain head, the hash of the line just before; a chain recomputed after an edit no
  longer ends in the signed head. (``prev`` is the chain link of the checkpoint line itself and is
  not signed, so a recomputed chain leaves the signature intact and the difference shows.);
- ``leaves``: one short hash per line since the previous checkpoint, of the line *without* its
  ``prev``. They do not depend on the chain, so verify can name which line was deleted, inserted,
  changed or moved even when the chain was recomputed;
- ``first_time``/``last_time``: the time range of the file's records so far; ``records``: how many;
- ``prev_segment``/``prev_segment_head``: the file this one continues (same process) and the hash it
  ended with: a deleted file in the middle is missed by its successor;
- ``end``: ``rotated`` (a successor named ``next_segment`` must exist: a deleted newest file is
  missed by its predecessor) or ``closed`` (the process shut down).

The signature covers the canonical JSON (sorted keys, no ``sig`` and ``prev``) of every other field.
Beside each file, ``<file>.head`` holds a copy of its newest checkpoint line (two slots, written
alternately in place, so a write torn by a power cut leaves the other intact): a tail cut off after
the last checkpoint is caught there. The central store (PostgreSQL) keeps every checkpoint too.

Key ids are the first 16 hex digits of the SHA-256 of the raw public key, so any copy of the public
key verifies, whatever its file is called.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..core.errors import PoortwachterError

FORMAT = 1
MAX_LEAVES = 256  # lines covered by one checkpoint at most: bounds its size (about 5 kB)
LEAF_HEX = 16  # 64 bits per line: enough to tell lines apart; the signed head is the full SHA-256
End = Literal["rotated", "closed"]
PublicKeys = Mapping[str, Ed25519PublicKey]


class LogKeyError(PoortwachterError, ValueError):
    """The log signing key or a log public key is missing, unreadable or not an Ed25519 key."""


def leaf(line: bytes) -> str:
    """A line's short hash without its chain link (``,"prev":…`` is always the last field)."""
    cut = line.rfind(b',"prev":')
    body = line[:cut] if cut > 0 else line.rstrip(b"\n")
    return hashlib.sha256(body).hexdigest()[:LEAF_HEX]


def hash_and_leaf(line: bytes) -> tuple[str, str]:
    """(``sha256(line)``, :func:`leaf` of it) in one pass over the line: the hash state at the chain link is
    the leaf's, and goes on over the link (the writer takes both of every record; ~1 kB read once, not twice)."""
    cut = line.rfind(b',"prev":')
    if cut <= 0:
        return hashlib.sha256(line).hexdigest(), leaf(line)
    view = memoryview(line)
    state = hashlib.sha256(view[:cut])
    body = state.hexdigest()
    state.update(view[cut:])
    return state.hexdigest(), body[:LEAF_HEX]


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One checkpoint line's content (see the module docstring); ``sig`` is base64, or None unsigned."""

    segment: str
    number: int
    lines: int
    records: int
    head: str | None
    leaves: tuple[str, ...]
    first_time: str | None = None
    last_time: str | None = None
    prev_segment: str | None = None
    prev_segment_head: str | None = None
    end: End | None = None
    next_segment: str | None = None
    time: str | None = None  # when the checkpoint was made (the central store files lines by time)
    key_id: str | None = None
    sig: str | None = None

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}  # not asdict(): no deep copies (writer thread)

    def payload(self) -> bytes:
        """The signed bytes: canonical JSON of every field but ``sig``."""
        fields = self._fields()
        del fields["sig"]
        return orjson.dumps({"format": FORMAT, **fields}, option=orjson.OPT_SORT_KEYS)

    def line(self, prev: str | None) -> bytes:
        """The checkpoint as a log line, chained to the line before it."""
        return orjson.dumps({"v": 1, "event": "checkpoint", "format": FORMAT, **self._fields(), "prev": prev}) + b"\n"

    @classmethod
    def parse(cls, data: Any) -> Checkpoint:
        """A checkpoint from a parsed line; ValueError when it is not one."""
        if not isinstance(data, dict) or data.get("event") != "checkpoint" or data.get("format") != FORMAT:
            raise ValueError("not a checkpoint of format 1")
        try:
            leaves = data["leaves"]
            if not (isinstance(leaves, list) and all(isinstance(x, str) for x in leaves)):
                raise ValueError("leaves is not a list of strings")
            cp = cls(**{k: data[k] for k in _FIELDS if k in data and k != "leaves"}, leaves=tuple(leaves))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a checkpoint ({type(exc).__name__}: {exc})") from None
        if not (isinstance(cp.segment, str) and type(cp.number) is int and type(cp.lines) is int
                and type(cp.records) is int):
            raise ValueError("checkpoint fields of the wrong type")
        return cp

    def check_signature(self, keys: PublicKeys) -> str | None:
        """None when a key in ``keys`` signed exactly this content, else why not."""
        if self.sig is None or self.key_id is None:
            return "not signed (written without a log signing key)"
        public = keys.get(self.key_id)
        if public is None:
            return f"signed with log key {self.key_id}, which is not among the public keys given"
        try:
            public.verify(base64.b64decode(self.sig, validate=True), self.payload())
        except (InvalidSignature, binascii.Error, ValueError):
            return "signature invalid: the checkpoint was changed, or not made with the log key"
        return None


_FIELDS = tuple(Checkpoint.__dataclass_fields__)


class Signer:
    """Signs checkpoints with the log's private key."""

    __slots__ = ("_key", "key_id", "public")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._key = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    def sign(self, cp: Checkpoint) -> Checkpoint:
        """``cp`` with this key's id and signature. Built from its fields directly, not with
        ``dataclasses.replace`` (twice 10 µs of a group commit's ~100 in the writer thread, issue 16)."""
        fields = cp._fields()
        fields["key_id"], fields["sig"] = self.key_id, None
        fields["sig"] = base64.b64encode(self._key.sign(Checkpoint(**fields).payload())).decode("ascii")
        return Checkpoint(**fields)


# ---------------------------------------------------------------------------------------------- keys


def load_signer(pem: bytes, where: str) -> Signer:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise LogKeyError(f"log signing key {where}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LogKeyError(f"log signing key {where}: not an Ed25519 key")
    return Signer(key)


def load_public_keys(paths: Iterable[Path]) -> dict[str, Ed25519PublicKey]:
    """Log public keys (PEM) by key id; a folder stands for every ``*.pub`` in it."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        for file in sorted(path.glob("*.pub")) if path.is_dir() else [path]:
            try:
                public = serialization.load_pem_public_key(file.read_bytes())
            except OSError as exc:
                raise LogKeyError(f"log public key {file}: {exc.strerror or exc}") from None
            except ValueError as exc:
                raise LogKeyError(f"log public key {file}: not a PEM public key ({exc})") from None
            if not isinstance(public, Ed25519PublicKey):
                raise LogKeyError(f"log public key {file}: not an Ed25519 key")
            keys[key_id(public)] = public
    return keys


def generate(private_path: Path) -> Signer:
    """A new key pair for development: ``<name>.key`` (0600) and ``<name>.pub`` beside it."""
    private = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    private_path.chmod(0o600)
    private_path.with_suffix(".pub").write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return Signer(private)


def signer_from_settings(env_pem: str | None, key_file: Path | None,
                         generate_at: Path | None = None) -> tuple[Signer | None, str]:
    """The configured log signer and where it came from (for the startup log line).

    Order: ``key_file``; ``env_pem`` (the PEM text of ``POORTWACHTER_DECISION_LOG_SIGNING_KEY``); an
    existing or new key at ``generate_at`` (development only: keep its ``.pub`` to verify the log);
    else None: checkpoints are written unsigned (the chain still works, ``--verify`` with a key fails).
    """
    if key_file is not None:
        try:
            pem = key_file.read_bytes()
        except OSError as exc:
            raise LogKeyError(f"cannot read log signing key {key_file}: {exc.strerror or exc}") from None
        return load_signer(pem, str(key_file)), f"key file {key_file}"
    if env_pem and env_pem.strip():
        return load_signer(env_pem.strip().encode(), "POORTWACHTER_DECISION_LOG_SIGNING_KEY"), \
            "environment POORTWACHTER_DECISION_LOG_SIGNING_KEY"
    if generate_at is None:
        return None, "none: checkpoints are not signed"
    if generate_at.is_file():
        return load_signer(generate_at.read_bytes(), str(generate_at)), f"key file {generate_at}"
    return generate(generate_at), f"NEW log signing key written to {generate_at} (public key beside it)"
