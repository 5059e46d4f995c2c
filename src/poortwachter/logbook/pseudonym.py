"""Who is in the decision log is pseudonymised with a keyed hash (HMAC-SHA256): the client, the
subject (who asked; also who attested an emergency) and the dossier part of item ids (issue 12 item 5),
each by default (settings ``decision_log_pseudonymise``, ``…_subject``, ``…_item``).

The log must answer "who has seen this client's dossier" (NEN 7513; toolkit-jgz-2026 §7.1 and bijlage C)
without itself becoming a second register of who is in care. A keyed hash keeps the log searchable by
client — :func:`Pseudonymiser.__call__` applied to the id a parent gives yields the value to look for —
while a copy of the log alone (without the key) names nobody.

The key lives apart from the log (a file or an environment variable, typically a Kubernetes Secret).
Every pseudonym names the key it was made with (``hmac-sha256:<key id>:<hex>``) so a key can be
replaced: old files stay searchable with the old key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import PoortwachterError

PREFIX = "hmac-sha256"
MIN_KEY_BYTES = 16  # below this, guessing the key beats guessing client ids


@dataclass(frozen=True, slots=True)
class Identifying:
    """Which ids besides the client's the log pseudonymises (the client's: whenever pseudonymising is on)."""

    subject: bool = True
    item: bool = True


ALL = Identifying()


def item_pseudonym(item_id: str, pseudonymise: Callable[[str], str]) -> str:
    """``<dossier>/<rest>`` with the dossier part pseudonymised (an id without ``/`` is all dossier):
    the log keeps which item of a dossier it was without naming the dossier."""
    dossier, sep, rest = item_id.partition("/")
    return pseudonymise(dossier) + sep + rest


class PseudonymKeyError(PoortwachterError, ValueError):
    """The pseudonymisation key is missing, unreadable or too short."""


def key_id(key: bytes) -> str:
    """A short, stable name for a key that reveals nothing about it."""
    return hashlib.sha256(b"poortwachter pseudonym key id\0" + key).hexdigest()[:8]


def _keyed_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256's inner and outer hash states after the padded key (RFC 2104), computed once.

    Each pseudonym then costs two state copies and two updates instead of ``hmac.new`` padding the key
    and hashing both pads again: 1.8 against 4.5 µs per pseudonym, three per record, in the log
    writer thread (docs/benchmarks.md). The digest is HMAC-SHA256's, bit for bit (tested).
    """
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in padded)), hashlib.sha256(bytes(b ^ 0x5C for b in padded)))


MEMO_SIZE = 4096  # ids whose pseudonym is remembered (a few hundred people and dossiers per worker at a time)


class Pseudonymiser:
    """``client id -> 'hmac-sha256:<key id>:<64 hex>'``; ``enabled=False`` logs ids in the clear.

    The pseudonyms last made are remembered (at most ``MEMO_SIZE``, then forgotten all at once): a batch
    or a field filter is one person asking about many items of one client's dossier, so its records
    repeat the same three ids, each 1.8 µs to hash in the log writer thread."""

    __slots__ = ("_inner", "_memo", "_outer", "_prefix", "enabled", "key_id")

    def __init__(self, key: bytes | None, *, enabled: bool = True) -> None:
        if enabled and (key is None or len(key) < MIN_KEY_BYTES):
            raise PseudonymKeyError(f"a pseudonymisation key of at least {MIN_KEY_BYTES} bytes is needed")
        self._inner, self._outer = _keyed_states(key or b"")
        self.key_id = key_id(key or b"") if enabled else "clear"
        self._prefix = f"{PREFIX}:{self.key_id}:"
        self._memo: dict[str, str] = {}
        self.enabled = enabled

    def __call__(self, client_id: str) -> str:
        if not self.enabled:
            return client_id
        found = self._memo.get(client_id)
        if found is None:
            inner = self._inner.copy()
            inner.update(client_id.encode("utf-8"))
            outer = self._outer.copy()
            outer.update(inner.digest())
            found = self._prefix + outer.hexdigest()
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[client_id] = found
        return found

    def matches(self, client_id: str, logged: str) -> bool:
        """Whether ``logged`` (a value from the log) is this client, under this key or in the clear."""
        return logged == client_id or (self.enabled and hmac.compare_digest(self(client_id), logged))


def read_key(path: Path) -> bytes:
    """A key file holds the key as text (hex, base64 or any passphrase); surrounding space is ignored."""
    try:
        raw = path.read_bytes().strip()
    except OSError as exc:
        raise PseudonymKeyError(f"cannot read pseudonymisation key {path}: {exc.strerror or exc}") from None
    if len(raw) < MIN_KEY_BYTES:
        raise PseudonymKeyError(f"pseudonymisation key {path} is shorter than {MIN_KEY_BYTES} bytes")
    return raw


def write_new_key(path: Path) -> bytes:
    """Create a random key file (mode 0600); used only when the operator configured none."""
    key = secrets.token_hex(32).encode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def from_settings(env_key: str | None, key_file: Path | None, *, enabled: bool = True,
                  generate_at: Path | None = None) -> tuple[Pseudonymiser, str]:
    """The configured pseudonymiser and where its key came from (for the startup log line).

    Order: ``key_file``; ``env_key``, the ``POORTWACHTER_DECISION_LOG_KEY`` variable (the service reads
    it in service/settings.py); an existing or new random key at ``generate_at`` (development only: back
    it up, or old logs can no longer be searched by client).
    """
    if not enabled:
        return Pseudonymiser(None, enabled=False), "disabled: client ids are logged in the clear"
    if key_file is not None:
        return Pseudonymiser(read_key(key_file)), f"key file {key_file}"
    value = (env_key or "").strip()
    if value:
        if len(value) < MIN_KEY_BYTES:
            raise PseudonymKeyError(f"POORTWACHTER_DECISION_LOG_KEY is shorter than {MIN_KEY_BYTES} characters")
        return Pseudonymiser(value.encode("utf-8")), "environment POORTWACHTER_DECISION_LOG_KEY"
    if generate_at is None:
        raise PseudonymKeyError("no pseudonymisation key configured (decision_log.key_file or POORTWACHTER_DECISION_LOG_KEY)")
    if generate_at.is_file():
        return Pseudonymiser(read_key(generate_at)), f"key file {generate_at}"
    return Pseudonymiser(write_new_key(generate_at)), f"NEW random key written to {generate_at}: back it up"
