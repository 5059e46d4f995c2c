"""The bundle store's values: what a reload loaded, the snapshot requests decide with, and its reports.

Everything here is immutable or a plain record; the rules of loading live in service/store.py.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..artifacts.artifact import Manifest
from ..core.catalog import Catalog
from ..core.errors import PoortwachterError
from ..core.policy.compile import CompiledBundle

__all__ = ["LoadReport", "Loaded", "Refusal", "Scan", "Shadowing", "Snapshot", "StoreConflict", "changed_ns", "utc_now"]


@dataclass(frozen=True)
class Loaded:
    """One verified, compiled artifact, where it came from, and the key (raw bytes) it was verified with."""

    manifest: Manifest
    compiled: CompiledBundle
    file: str
    loaded_at: datetime
    signer: bytes

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def revision(self) -> str:
        return self.manifest.revision


def utc_now() -> datetime:
    return datetime.now(UTC)


def changed_ns(path: Path) -> int | None:
    """The file's status-change time (ns; cannot be set by a copy tool), None when it is not there."""
    try:
        return os.stat(path).st_ctime_ns
    except OSError:
        return None


def _digest(active: Mapping[str, tuple[Loaded, ...]]) -> str:
    """sha256 of the sorted ``name revision`` lines: equal in two workers iff they decide with the same set."""
    lines = sorted(f"{n} {x.revision}" for n, v in active.items() for x in v)
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """What requests decide with: immutable (read-only mappings), replaced as a whole."""

    catalog: Catalog
    active: Mapping[str, tuple[Loaded, ...]]
    generation: int
    loaded_at: datetime
    digest: str = ""

    @classmethod
    def of(cls, active: dict[str, tuple[Loaded, ...]], generation: int, at: datetime) -> Snapshot:
        catalog = Catalog.of(x.compiled for v in active.values() for x in v)
        return cls(catalog, MappingProxyType(dict(active)), generation, at, _digest(active))


@dataclass(frozen=True)
class Shadowing:
    """A candidate artifact evaluated beside the active versions of ``name`` (since ``since``)."""

    name: str
    candidate: Loaded
    since: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.name, self.candidate.revision, self.since)


class StoreConflict(PoortwachterError):
    """An admin request that cannot be carried out (unknown version, nothing to roll back to)."""


@dataclass(frozen=True)
class Refusal:
    """A file refused at the last reload: why, and since when (this worker saw it refused without a break)."""

    file: str
    reason: str
    since: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "reason": self.reason, "since": self.since}


@dataclass
class Scan:
    """One pass over the bundle folder."""

    good: dict[str, tuple[Loaded, int]] = field(default_factory=dict)  # file → (artifact, ctime ns)
    refused: dict[str, str] = field(default_factory=dict)  # file → why
    listed: bool = True  # the folder could be listed


@dataclass
class LoadReport:
    """What one reload did: for the admin answer and the log."""

    generation: int
    changed: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"generation": self.generation, "changed": self.changed, "refused": self.refused, "kept": self.kept}
