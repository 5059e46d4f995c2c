"""Which signing keys the service trusts, and saying so once at start.

The DEV key (keys/dev-signing.*) signs the embedded default bundles so that ``./scripts/serve`` runs out of
the box; its private half is in the repository, so anyone can sign with it. It is therefore trusted only
for the embedded default bundles: once the service reads another folder (``bundles``) or a
``bundle_source``, an artifact signed with it is refused, unless ``trust_dev_key: true`` says this is a
development setup. The key is recognised by its bytes, not its file name: a copy under another name in a
production keys folder is refused just the same.
"""

from __future__ import annotations

import logging

from ..artifacts.keys import DEV_KEY_REFUSED, Keyring, dev_fingerprint, fingerprint
from .settings import Settings

__all__ = ["announce", "refused_keys"]

log = logging.getLogger("poortwachter.service")


def refused_keys(settings: Settings) -> dict[bytes, str]:
    """Raw public-key bytes never to trust with these settings, and why (for /readyz and the log)."""
    if settings.embedded_default or settings.trust_dev_key:
        return {}
    return {dev_fingerprint(): DEV_KEY_REFUSED}


def announce(settings: Settings, keyring: Keyring, refused: dict[bytes, str]) -> None:
    """One log line on how the DEV key is treated, when it is among the configured keys."""
    dev = dev_fingerprint()
    if not any(fingerprint(k) == dev for k in keyring.values()):
        return
    if refused:
        log.warning("the DEV signing key is among the configured keys and is NOT trusted: the bundles come from "
                    "%s, not the embedded defaults (set trust_dev_key: true for development; docs/keys.md)",
                    settings.bundle_source or settings.bundles)
    elif settings.embedded_default:
        log.warning("the DEV signing key is trusted for the embedded default bundles: fine for development, never "
                    "in production (see docs/keys.md)")
    else:
        log.warning("trust_dev_key: the DEV signing key, whose private half is public, is trusted for %s: anyone can "
                    "sign bundles this service accepts; never in production", settings.bundle_source or settings.bundles)
