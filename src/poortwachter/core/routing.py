"""Which law decides a request — chosen by the deployment, never bent by the caller.

A request is decided by the bundle configured for its dossier type (``resource.properties.dossier_type``).
The caller may name a bundle (``context.bundle``) only if that bundle governs the dossier type; it may
pin a version (``name@version``) only where the deployment allows it; and ``context.time`` — which picks
the version in force and settles the client's age — must lie within ``max_clock_skew`` of the server's
clock. Otherwise a backdated clock would choose old law (a klantportaal login with a password only
was enough before 1 July 2023) and a jeugdhulp dossier could be decided under the JGZ law.

Pure: the server's clock comes in as ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from .errors import RequestError
from .request import PROPERTIES, Envelope

NO_DOSSIER_TYPE = "none"  # the routing key of requests that name no dossier type (fixture vocabularies)
DEFAULT_ROUTES: Mapping[str, str] = MappingProxyType({"jgz": "nl-jgz", "jeugdhulp": "nl-jeugdhulp"})
DEFAULT_MAX_CLOCK_SKEW = timedelta(seconds=300)  # two EPD servers' clocks disagree by seconds, not minutes
_MAX_TYPE_LENGTH = 64


class Refused(RequestError):
    """A well-formed request the deployment refuses to decide as asked; ``cause`` names the rule
    (a problem type and a metric label): ``dossier-type``, ``clock-skew`` or ``pinned-version``."""

    def __init__(self, cause: str, path: str, expected: str, got: object) -> None:
        super().__init__(path, expected, got)
        self.cause = cause


@dataclass(frozen=True, slots=True)
class Routing:
    """The deployment's answer to "which law decides": bundle per dossier type, and how far a caller
    may move the clock or pin a version. ``max_clock_skew`` None switches the clock check off."""

    bundles: Mapping[str, str] = field(default_factory=lambda: DEFAULT_ROUTES)
    allow_pinned: bool = False
    max_clock_skew: timedelta | None = DEFAULT_MAX_CLOCK_SKEW

    @classmethod
    def replay(cls, bundles: Mapping[str, str] = DEFAULT_ROUTES) -> Routing:
        """For authors and explanations of the past: scenarios replay fixed times and pinned versions;
        the dossier type still decides which law applies."""
        return cls(bundles, allow_pinned=True, max_clock_skew=None)

    def configured(self) -> str:
        return ", ".join(f"{t} → {b}" for t, b in self.bundles.items()) or "nothing"


def dossier_type_of(envelope: Envelope) -> str | None:
    """The request's dossier type as sent (its value set is checked by the bundle's vocabulary)."""
    value = envelope.resource[PROPERTIES].get("dossier_type")
    if value is None:
        return None
    if type(value) is not str or not value or len(value) > _MAX_TYPE_LENGTH:
        raise RequestError("resource.properties.dossier_type", "a dossier type such as jgz or jeugdhulp", value)
    return value


def bundle_name(envelope: Envelope, routing: Routing) -> tuple[str, str | None]:
    """(bundle name, pinned version or None) that must decide ``envelope``; Refused otherwise."""
    dossier_type = dossier_type_of(envelope)
    wanted = envelope.context.get("bundle")
    if wanted is None:  # null reads as absent, as everywhere in a request
        name = routing.bundles.get(dossier_type or NO_DOSSIER_TYPE)
        if name is None:
            raise Refused("dossier-type", "resource.properties.dossier_type",
                          f"a dossier type this service decides (configured: {routing.configured()})",
                          dossier_type)
        return name, None
    if type(wanted) is not str or not wanted or len(wanted) > 2 * _MAX_TYPE_LENGTH:
        raise RequestError("context.bundle", "a bundle name such as nl-jgz", wanted)
    name, _, version = wanted.partition("@")
    if version and not routing.allow_pinned:
        raise Refused("pinned-version", "context.bundle",
                      f"a bundle name without a version ({name}): pinning a version is switched off "
                      "(setting allow_pinned_versions); ask /v1/decisions with the history token for the past",
                      wanted)
    return name, version or None


def check_governs(governs: bool, name: str, declared: tuple[str, ...], envelope: Envelope,
                  routing: Routing) -> None:
    """Refused unless the chosen bundle governs the request's dossier type."""
    if not governs:
        dossier_type = dossier_type_of(envelope)
        raise Refused("dossier-type", "context.bundle",
                      f"a bundle that governs dossier type {dossier_type or NO_DOSSIER_TYPE!r}: "
                      f"{name} governs {', '.join(declared) or 'only requests without a dossier type'} "
                      f"(configured: {routing.configured()})", envelope.context.get("bundle"))


def check_clock(envelope: Envelope, now: datetime, routing: Routing) -> None:
    """Refused when ``context.time`` lies further from the server's clock than the skew allows."""
    limit = routing.max_clock_skew
    if limit is None or envelope.context.get("time") is None:
        return
    if abs(envelope.time - now) > limit:
        raise Refused("clock-skew", "context.time",
                      f"a time within {int(limit.total_seconds())} s of the server's clock ({now.isoformat()}); "
                      "for what was decided at another time ask /v1/decisions with the history token",
                      envelope.context.get("time"))
