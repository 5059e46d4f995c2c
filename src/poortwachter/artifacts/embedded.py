"""Where the embedded default bundles and the development public key live.

In a wheel they are package data (``poortwachter/_embedded``); in a source checkout (editable
install) they are the repository's ``bundles/`` and ``keys/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_REPO = _PACKAGE.parent.parent


def _pick(packaged: Path, in_repo: Path) -> Path:
    return packaged if packaged.is_dir() else in_repo


def bundle_dir() -> Path:
    return _pick(_PACKAGE / "_embedded" / "bundles", _REPO / "bundles")


def key_dir() -> Path:
    """Folder of trusted public keys for the embedded bundles (the DEV key only)."""
    return _pick(_PACKAGE / "_embedded" / "keys", _REPO / "keys")
