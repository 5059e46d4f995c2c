"""How the metrics are exposed: one process's registry, or every worker's samples from the multiprocess folder.

``serve`` prepares the folder before the workers start (they inherit the environment) and removes it
afterwards; ``/metrics`` on any worker, or the separate exporter in the ``serve`` parent, reads it. The
metrics themselves and their ``observe_*`` functions are in :mod:`.metrics`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger("poortwachter.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def registry() -> CollectorRegistry:
    """The registry to expose: this process's, or every worker's from the multiprocess folder."""
    folder = multiprocess_dir()
    if folder is None:
        return REGISTRY
    reg = CollectorRegistry()
    multiprocess.MultiProcessCollector(reg, path=folder)  # type: ignore[no-untyped-call]
    return reg


def exposition() -> bytes:
    return generate_latest(registry())


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics: Prometheus text exposition (all workers' samples in multiprocess mode).

    The decision log's health gauge is brought up to date first, so a scrape tells the truth now, not
    as of the watchdog's last tick."""
    service = getattr(request.app.state, "service", None)
    decision_log = getattr(service, "decision_log", None)
    if decision_log is not None:
        decision_log.health()
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


def prepare_multiprocess(workers: int, base: Path | None = None) -> str | None:
    """Before starting ``workers`` > 1 uvicorn workers: a fresh, empty multiprocess folder in the env.

    Must run before the workers import prometheus_client (they inherit the environment). An operator-set
    ``PROMETHEUS_MULTIPROC_DIR`` is honoured but emptied (stale files of a previous run would add up).
    """
    if workers <= 1:
        return None
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        path = Path(folder)
        if path.is_dir():
            for child in path.glob("*.db"):
                child.unlink()
        else:
            path.mkdir(parents=True, exist_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="poortwachter-metrics-", dir=base))
        os.environ[MULTIPROC_ENV] = str(path)
    log.info("metrics: multiprocess mode, %d workers, samples in %s", workers, path)
    return str(path)


def cleanup_multiprocess(folder: str | None) -> None:
    """After the workers have stopped (the folder was made by :func:`prepare_multiprocess`)."""
    if folder and Path(folder).name.startswith("poortwachter-metrics-"):
        shutil.rmtree(folder, ignore_errors=True)


def worker_stopped() -> None:
    """In a worker's shutdown: its live gauges no longer count (livemin/livemax/livesum modes)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def start_exporter(address: str) -> None:
    """Serve only /metrics on ``host:port`` (e.g. 0.0.0.0:9464 beside a loopback-only sidecar).

    Run it in one process only: the ``serve`` parent when there are workers (it reads their folder),
    or the single worker.
    """
    from prometheus_client import start_http_server

    host, _, port = address.rpartition(":")
    # an empty host means every interface: the scraper sits outside the pod (deploy/k8s NetworkPolicy)
    start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0", registry=registry())  # noqa: S104
    log.info("metrics exporter on %s", address)
