"""Bearer tokens for the admin API and (optionally) the decision endpoints.

Tokens are kept only as SHA-256 digests and compared with hmac.compare_digest: the digest has a
fixed length whatever the caller sends, so the comparison time says nothing about the secret, and a
memory dump of the sidecar does not hold a usable token. An operator may even configure the digest
alone (``admin_token_sha256``) so the plain token never reaches the sidecar's disk.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

from .problems import Problem
from .settings import Settings, SettingsError

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="poortwachter"'}


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _load(plain: str | None, file: Path | None, sha256: str | None, what: str) -> bytes | None:
    if file is not None:
        try:
            plain = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{what} token file {file}: {exc.strerror or exc}") from None
    if plain:
        if len(plain) < 16:
            raise SettingsError(f"{what} token is shorter than 16 characters; use a random secret")
        return digest(plain)
    if sha256:
        try:
            raw = bytes.fromhex(sha256)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise SettingsError(f"{what}_token_sha256 must be 64 hex digits")
        return raw
    return None


@dataclass(frozen=True)
class Guard:
    """Checks one bearer token; ``None`` digest means: not configured."""

    expected: bytes | None
    what: str
    required: bool  # admin: always required (refused when unconfigured); decisions: only when configured

    def check(self, request: Request) -> None:
        if self.expected is None:
            if self.required:
                raise Problem(403, f"{self.what}-disabled",
                              f"{self.what} access is disabled: no {self.what} token is configured")
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(401, "unauthenticated", f"this endpoint needs the {self.what} bearer token",
                          field="Authorization", expected="Bearer <token>", got="nothing" if not header else "another scheme",
                          headers=_CHALLENGE)
        if not hmac.compare_digest(digest(token.strip()), self.expected):
            raise Problem(403, "forbidden", f"the bearer token is not the {self.what} token",
                          field="Authorization", expected=f"the {self.what} token", got="another token")

    def presented(self, request: Request) -> bool:
        """Whether the request carries this (configured) token; never raises."""
        if self.expected is None:
            return False
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(digest(token.strip()), self.expected)


@dataclass(frozen=True)
class Guards:
    """The service's three credentials: admin (bundles), decision (the decision endpoints, optional)
    and history (questions about the past at /v1/decisions; without it the past cannot be asked)."""

    admin: Guard
    decision: Guard
    history: Guard


def guards(settings: Settings) -> Guards:
    """The guards from the settings; SettingsError for unusable configuration."""
    admin = _load(settings.admin_token, settings.admin_token_file, settings.admin_token_sha256, "admin")
    decision = _load(settings.decision_token, settings.decision_token_file, None, "decision")
    history = _load(settings.history_token, settings.history_token_file, None, "history")
    return Guards(Guard(admin, "admin", True), Guard(decision, "decision", False), Guard(history, "history", True))
