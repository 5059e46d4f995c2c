"""Shipping the decision log to the central store from inside the service (setting ``decision_log_ship``).

The journal folder stays the durable record every answer waits for (logbook/writer.py); a shipper
thread (logbook/central/ship.py) copies it to PostgreSQL behind the answers, never in front of them.
With several workers every worker starts one, and the journal folder's lock lets exactly one ship
while the others stand by (reporting the backlog from the position file) — so a worker that dies
hands shipping to another without a gap. A sidecar ``poortwachter log ship`` process on the same
folder takes part in the same lock. With ``decision_log_ship = sidecar`` the service never ships: its
thread only watches the backlog the sidecar leaves (the journal and the sidecar's position file), so
/readyz, the metrics and the journal limit work the same.

Back-pressure (docs/operations.md, "The audit trail's data path"): while PostgreSQL is away the journal
grows and /readyz and the metrics say how far behind the store is; decisions go on being answered.
Only when the backlog passes ``decision_log_journal_max_bytes`` does :class:`ShippingSink` refuse
new decisions (503, fail closed) — the disk must never fill up with evidence nobody can move.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..logbook.central.db import Target
from ..logbook.central.metrics import PrometheusObserver
from ..logbook.central.ship import Shipper, ShipperConfig
from ..logbook.record import LogEvent
from ..logbook.writer import LogHealth, LogUnavailable, LogWriter
from .log_sinks import WriterSink
from .settings import Settings

__all__ = ["Shipping", "ShippingSink", "shipping_sink"]

log = logging.getLogger("poortwachter.log_ship")
STOP_SECONDS = 10.0


class ShippingSink(WriterSink):
    """The folder writer, plus the shipper whose backlog may refuse decisions beyond the configured size."""

    shipper: Shipper

    def __init__(self, writer: LogWriter, shipper: Shipper) -> None:
        super().__init__(writer)
        self.shipper = shipper

    def record(self, event: LogEvent) -> None:
        if self.shipper.refusing:  # one attribute read on the request path
            raise LogUnavailable(self.shipper.status().detail())
        super().record(event)

    def health(self) -> LogHealth:
        health = super().health()
        if health.ok and self.shipper.refusing:
            return LogHealth(False, True, self.shipper.status().detail())
        return health


SIDECAR = "sidecar"


def shipping_sink(writer: LogWriter, directory: Path, settings: Settings) -> ShippingSink:
    """The sink for a journal folder shipped to ``settings.decision_log_ship`` — by this service (a DSN), or
    by a sidecar ``poortwachter log ship`` whose backlog the service only watches (``sidecar``)."""
    assert settings.decision_log_ship is not None
    watch_only = settings.decision_log_ship == SIDECAR
    dsn = "sidecar: not used" if watch_only else settings.decision_log_ship
    config = ShipperConfig(directory, Target(dsn, settings.decision_log_ship_schema), watch_only=watch_only,
                           max_pending_bytes=settings.decision_log_journal_max_bytes)
    return ShippingSink(writer, Shipper(config, PrometheusObserver()))


class Shipping:
    """The running shipper thread of this worker."""

    def __init__(self, shipper: Shipper) -> None:
        self.shipper = shipper
        self._stop = threading.Event()
        self._thread = threading.Thread(target=shipper.run, args=(self._stop,), name="poortwachter-log-ship",
                                        daemon=True)

    def start(self) -> Shipping:
        self._thread.start()
        config = self.shipper.config
        if config.watch_only:
            log.info("decision log: a sidecar ships %s; watching its backlog", config.directory)
        else:
            log.info("decision log: shipping %s to the central store (schema %s)", config.directory,
                     config.target.schema)
        return self

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Ask the thread to stop (it ships one last round first) and wait at most ``timeout``."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("decision log: the shipper did not stop within %.0f s; the journal keeps what is left", timeout)
