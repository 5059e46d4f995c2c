"""The answers of the bundle, administration and health endpoints, read as strictly as the decisions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .reading import get, obj, objs, strs


@dataclass(frozen=True)
class Health:
    """``/healthz`` or ``/readyz``: ``ok`` for 200 (ok, ready), false for the 503 answers (dead, not ready)."""

    ok: bool
    status: str
    detail: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def read(cls, data: Any, ok: bool, where: str = "answer") -> Health:
        d = obj(data, where)
        return cls(ok, get(d, "status", str, where), get(d, "detail", str, where, None), d)


@dataclass(frozen=True)
class BundleSummary:
    name: str
    active: tuple[str, ...]
    in_force: str | None
    held: bool
    last_error: Mapping[str, Any] | None


@dataclass(frozen=True)
class BundleList:
    """``GET /v1/bundles``: every bundle with its active versions and the one in force today."""

    bundles: tuple[BundleSummary, ...]
    dossier_type_bundles: Mapping[str, str]
    generation: int
    revision_set: str
    refused: Mapping[str, str]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> BundleList:
        d = obj(data, where)
        bundles = []
        for b, w in objs(d, "bundles", where):
            bundles.append(BundleSummary(get(b, "name", str, w), strs(b, "active", w), get(b, "in_force", str, w, None),
                                         get(b, "held", bool, w), get(b, "last_error", dict, w, None)))
        return cls(tuple(bundles), get(d, "dossier_type_bundles", dict, where), get(d, "generation", int, where),
                   get(d, "revision_set", str, where), get(d, "refused", dict, where, {}), d)


@dataclass(frozen=True)
class BundleVersion:
    version: str
    effective_from: str
    revision: str
    key_id: str
    active: bool
    in_force: bool


@dataclass(frozen=True)
class BundleDetail:
    """``GET /v1/bundles/{name}``: every known revision; ``raw`` has the hold and the roll-back history."""

    name: str
    active: tuple[str, ...]
    in_force: str | None
    versions: tuple[BundleVersion, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> BundleDetail:
        d = obj(data, where)
        versions = []
        for v, w in objs(d, "versions", where):
            versions.append(BundleVersion(get(v, "version", str, w), get(v, "effective_from", str, w),
                                          get(v, "revision", str, w), get(v, "key_id", str, w),
                                          get(v, "active", bool, w), get(v, "in_force", bool, w)))
        return cls(get(d, "name", str, where), strs(d, "active", where), get(d, "in_force", str, where, None),
                   tuple(versions), d)


@dataclass(frozen=True)
class LoadReport:
    """What an admin reload, activation or roll-back changed."""

    generation: int
    changed: tuple[str, ...]
    kept: tuple[str, ...]
    refused: Mapping[str, str]

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> LoadReport:
        d = obj(data, where)
        return cls(get(d, "generation", int, where), strs(d, "changed", where), strs(d, "kept", where),
                   get(d, "refused", dict, where, {}))


@dataclass(frozen=True)
class ShadowReport:
    """A shadow evaluation in the worker that answered: how many decisions the candidate would have given
    the same or otherwise; ``raw`` has each distinct difference and the latest samples."""

    name: str
    running: bool
    candidate_version: str
    candidate_revision: str
    compared: int
    same: int
    different: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> ShadowReport:
        d = obj(data, where)
        candidate = obj(d.get("candidate"), where + ".candidate")
        w = where + ".candidate"
        return cls(get(d, "name", str, where), get(d, "running", bool, where), get(candidate, "version", str, w),
                   get(candidate, "revision", str, w), get(d, "compared", int, where), get(d, "same", int, where),
                   get(d, "different", int, where), d)
