"""Which compiled bundle decides a request: routed by dossier type (core/routing.py), then the version
in force at ``context.time`` (or a permitted ``name@version``).

Several versions of one bundle sit side by side; the version in force at ``context.time`` is the one
with the latest ``effective_from`` on or before that (Amsterdam) date. Which bundle a routed request gets
is a pure function of (routing, dossier type, date), so a catalog remembers it per day: a decision then
costs one lookup instead of routing, selecting and checking again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from .errors import RequestError, did_you_mean, unknown
from .policy.compile import CompiledBundle
from .request import PROPERTIES, Envelope
from .routing import Routing, bundle_name, check_governs, dossier_type_of

MAX_REMEMBERED = 4096  # (routing, dossier type, date) choices a catalog remembers (then it starts afresh)


@dataclass(frozen=True)
class Catalog:
    """An immutable set of compiled bundles; the store swaps whole catalogs atomically."""

    versions: dict[str, tuple[CompiledBundle, ...]] = field(default_factory=dict)  # oldest first
    #: (id(routing), dossier type, date) → (routing, the bundle chosen) for requests without context.bundle;
    #: the entry holds its routing, so the id is not reused while it is remembered
    routed: dict[tuple[int, str, date], tuple[Routing, CompiledBundle]] = field(
        default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, bundles: Iterable[CompiledBundle]) -> Catalog:
        grouped: dict[str, list[CompiledBundle]] = {}
        for b in bundles:
            grouped.setdefault(b.bundle.name, []).append(b)
        return cls({n: tuple(sorted(bs, key=lambda b: (b.bundle.effective_from, _semver(b.bundle.version))))
                    for n, bs in sorted(grouped.items())})

    def names(self) -> list[str]:
        return list(self.versions)

    def select(self, name: str, on: date, version: str | None = None) -> CompiledBundle:
        """KeyError names what is missing: the bundle, the version, or a version in force on ``on``."""
        versions = self.versions.get(name)
        if not versions:
            raise KeyError(unknown("bundle", name, self.versions))
        if version is not None:
            for b in versions:
                if b.bundle.version == version:
                    return b
            raise KeyError(f"bundle {name!r} has no version {version!r} "
                           f"(known: {', '.join(b.bundle.version for b in versions)})")
        in_force = [b for b in versions if b.bundle.effective_from <= on]
        if not in_force:
            raise KeyError(f"no version of {name!r} is in force on {on.isoformat()} "
                           f"(earliest effective_from {versions[0].bundle.effective_from})")
        return in_force[-1]

    def select_for(self, envelope: Envelope, routing: Routing) -> CompiledBundle:
        """The bundle that decides ``envelope``: the one routed to (core/routing.py), in the version in
        force at ``context.time`` unless a permitted pin names another. RequestError otherwise."""
        dossier_type = envelope.resource[PROPERTIES].get("dossier_type")
        key = None
        if type(dossier_type) is str and envelope.context.get("bundle") is None:
            key = (id(routing), dossier_type, envelope.today)
            known = self.routed.get(key)
            if known is not None and known[0] is routing:
                return known[1]
        name, version = bundle_name(envelope, routing)
        on = envelope.today
        try:
            chosen = self.select(name, on, version)
        except KeyError:
            raise RequestError("context.bundle", self._expected(name, version, on),
                               envelope.context.get("bundle") or name) from None
        b = chosen.bundle
        check_governs(b.governs(dossier_type_of(envelope)), b.name, b.dossier_types, envelope, routing)
        if key is not None:  # only a choice that passed every check is remembered
            if len(self.routed) >= MAX_REMEMBERED:
                self.routed.clear()
            self.routed[key] = (routing, chosen)
        return chosen

    def _expected(self, name: str, version: str | None, on: date) -> str:
        """What :meth:`select` needed, worded as the ``expected`` of a request error."""
        versions = self.versions.get(name)
        if not versions:
            return f"one of the bundles loaded ({', '.join(self.versions) or 'none'}{did_you_mean(name, self.versions)})"
        if version is not None and all(b.bundle.version != version for b in versions):
            return f"a version of {name} that is loaded ({', '.join(b.bundle.version for b in versions)})"
        return f"a version of {name} in force on {on.isoformat()} (the earliest: from {versions[0].bundle.effective_from})"


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())
