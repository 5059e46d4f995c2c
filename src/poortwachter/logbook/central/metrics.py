"""Prometheus metrics of log shipping (names fixed: alert rules and the dashboard use them).

    log_shipped_records_total                       counter  decision records committed to the central store
    log_ship_pending_records                        gauge    journal lines not yet in the store
    log_ship_pending_bytes                          gauge    their bytes (what decision_log_journal_max_bytes limits)
    log_ship_oldest_pending_age_seconds             gauge    age of the oldest line not yet in the store (0: none)
    log_ship_errors_total{cause}                    counter  cause = connect | connection | timeout | schema |
                                                             conflict | database | journal | internal
    log_ship_last_success_timestamp_seconds         gauge    Unix time the shipper last reached the store

All prefixed ``poortwachter_``. Defined on the default registry, so the service's /metrics shows them
(in multiprocess mode the gauges take the live maximum: the worker that ships reports, the others
stand by with the same figures from the position file); ``poortwachter log ship --metrics-address``
serves them for a sidecar.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from .ship import ShipStatus

CAUSES = ("connect", "connection", "timeout", "schema", "conflict", "database", "journal", "internal")

SHIPPED = Counter("poortwachter_log_shipped_records_total", "Decision records committed to the central store.")
PENDING = Gauge("poortwachter_log_ship_pending_records", "Journal lines not yet in the central store.",
                multiprocess_mode="livemax")
PENDING_BYTES = Gauge("poortwachter_log_ship_pending_bytes", "Bytes of journal lines not yet in the central store.",
                      multiprocess_mode="livemax")
OLDEST = Gauge("poortwachter_log_ship_oldest_pending_age_seconds",
               "Age of the oldest journal line not yet in the central store (0 when none waits).",
               multiprocess_mode="livemax")
ERRORS = Counter("poortwachter_log_ship_errors_total", "Failed shipping attempts, by cause.", ["cause"])
LAST_SUCCESS = Gauge("poortwachter_log_ship_last_success_timestamp_seconds",
                     "Unix time the shipper last reached the central store.", multiprocess_mode="livemax")


class PrometheusObserver:
    """The shipper's observer that keeps the metrics above."""

    def shipped(self, records: int) -> None:
        SHIPPED.inc(records)

    def failed(self, cause: str) -> None:
        ERRORS.labels(cause if cause in CAUSES else "internal").inc()

    def backlog(self, status: ShipStatus) -> None:
        PENDING.set(status.pending_records)
        PENDING_BYTES.set(status.pending_bytes)
        OLDEST.set(status.oldest_pending_age or 0.0)
        if status.last_success is not None:
            LAST_SUCCESS.set(status.last_success)

for _cause in CAUSES:  # every cause present from the start (at 0), so a rate() over it is defined
    ERRORS.labels(_cause)
