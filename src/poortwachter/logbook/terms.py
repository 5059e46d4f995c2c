"""The writer's terms: what it is configured with, how it refuses a record, how it reports its health.

The writer (writer.py) takes a :class:`WriterConfig`, raises :class:`LogUnavailable` / :class:`LogTimeout` on the request path (the
service then refuses the decision: fail closed), answers :meth:`~.writer.LogWriter.health` with a
:class:`LogHealth` (the truth for ``/readyz`` and ``/healthz``) and calls an :class:`Observer`
(metrics) from its thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from ..core.errors import PoortwachterError

__all__ = ["Durability", "LogHealth", "LogTimeout", "LogUnavailable", "NoObserver", "Observer", "WriterConfig"]

Durability = Literal["fsync", "write"]


class LogUnavailable(PoortwachterError):
    """The decision log cannot take a record now; the caller must not answer the decision."""


class LogTimeout(LogUnavailable):
    """A wait for the decision log (room in the queue, or a record to be written) passed ``wait_timeout``."""


@dataclass(frozen=True, slots=True)
class LogHealth:
    """``ok``: records are accepted and written. ``live``: the writer thread runs (False: only a
    restart helps). ``detail``: why not ok, for /readyz and /healthz."""

    ok: bool
    live: bool = True
    detail: str | None = None


class Observer(Protocol):
    """Hooks for metrics; called from the writer thread or, for waits, the caller's (keep them cheap)."""

    def batch_written(self, records: int, seconds: float, ok: bool) -> None: ...
    def health_changed(self, healthy: bool, reason: str | None) -> None: ...
    def waited(self, seconds: float) -> None: ...
    def timed_out(self, stage: str) -> None: ...


class NoObserver:
    def batch_written(self, records: int, seconds: float, ok: bool) -> None:
        pass

    def health_changed(self, healthy: bool, reason: str | None) -> None:
        pass

    def waited(self, seconds: float) -> None:
        pass

    def timed_out(self, stage: str) -> None:
        pass


@dataclass(frozen=True)
class WriterConfig:
    directory: Path
    durability: Durability = "fsync"
    max_file_bytes: int = 64 * 1024 * 1024
    rotate_seconds: int = 86_400  # files start at most a day apart, aligned to UTC midnight
    max_pending: int = 10_000  # queued, not yet taken by the writer; beyond it submit waits for room
    retry_seconds: float = 1.0
    sync_seconds: float = 1.0  # durability "write": fsync at most this far apart; the checkpoint in both
    wait_timeout: float = 5.0  # the longest any wait lasts; also: no progress this long = stuck

    def __post_init__(self) -> None:
        if self.durability not in ("fsync", "write"):
            raise ValueError(f"decision log durability must be fsync or write, not {self.durability!r}")
        if self.max_file_bytes < 4096:
            raise ValueError("decision log max_file_bytes must be at least 4096")
        if self.rotate_seconds < 1:
            raise ValueError("decision log rotate_seconds must be at least 1")
        if not self.wait_timeout > 0:
            raise ValueError(f"decision log wait_timeout must be more than 0 seconds, not {self.wait_timeout!r}")
