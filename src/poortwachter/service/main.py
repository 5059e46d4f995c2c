"""`poortwachter serve`: resolve the settings once, then run uvicorn (uvloop, httptools).

The resolved settings go to the worker processes as JSON in POORTWACHTER_SETTINGS_JSON, so every
worker runs the same configuration even when it came from flags. With more than one worker a shared
state folder is needed for admin actions to reach every worker; one is created if none is set, and
removed when serve ends (it may hold that run's development pseudonymisation key).

Listening beyond loopback without a decision token would let anyone on the network ask about any
dossier: serve refuses that unless ``allow_unauthenticated_network`` says it is intended.
"""

from __future__ import annotations

import argparse
import inspect
import ipaddress
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvicorn

from . import supervisor
from .settings import SETTINGS_ENV, Settings, SettingsError, load_settings

__all__ = ["check_exposure", "loopback", "resolve", "serve"]

log = logging.getLogger("poortwachter.service")


def resolve(args: argparse.Namespace) -> tuple[Settings, Path | None]:
    """(the settings, the temporary state folder made for them, if any: serve removes it at the end)."""
    cli = {"host": args.host, "port": args.port, "bundles": args.bundles, "workers": args.workers}
    settings = load_settings(cli, config=getattr(args, "config", None))
    if settings.workers > 1 and settings.state_dir is None:
        made = Path(tempfile.mkdtemp(prefix="poortwachter-state-"))
        return settings.model_copy(update={"state_dir": made}), made
    return settings, None


def loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """SettingsError when the decision endpoints would be open to the network."""
    if loopback(settings.host) or settings.decision_token or settings.decision_token_file:
        return
    if settings.allow_unauthenticated_network:
        log.warning("listening on %s without a decision token: anyone who reaches this port can ask for "
                    "decisions (allow_unauthenticated_network)", settings.host)
        return
    raise SettingsError(f"host {settings.host} is not loopback and no decision token is configured: set "
                        "decision_token_file (or POORTWACHTER_DECISION_TOKEN), listen on 127.0.0.1, or set "
                        "allow_unauthenticated_network if a network policy already guards this port")


def serve(args: argparse.Namespace) -> int:
    made: Path | None = None
    try:
        settings, made = resolve(args)
        check_exposure(settings)
        from . import tracing
        from .app import build_service

        tracing.check(settings)  # tracing configured but the [otel] extra missing: say so now

        build_service(settings).decision_log.close()  # fail fast on unusable tokens, keys, inventory
    except SettingsError as exc:
        print(f"poortwachter serve: {exc}", file=sys.stderr)
        _remove(made)
        return 2
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    print(f"poortwachter: serving on http://{settings.host}:{settings.port} "
          f"(bundles {settings.bundles}, dossier types {settings.dossier_type_bundles}, workers {settings.workers})",
          file=sys.stderr)
    from . import metrics_export

    multiproc = metrics_export.prepare_multiprocess(settings.workers)  # before the workers import prometheus_client
    exporter = settings.metrics_address
    if exporter:  # /metrics only, e.g. on the pod IP beside a loopback-only decision API
        metrics_export.start_exporter(exporter)  # workers > 1: this parent reads every worker's samples
    from .transport import ProblemHttpToolsProtocol

    supervisor.install()  # a worker that dies mid health check is replaced at once, not after 30 s
    try:
        uvicorn.run("poortwachter.service.app:create_app_from_env", factory=True, host=settings.host,
                    port=settings.port, workers=settings.workers, loop="uvloop", http=ProblemHttpToolsProtocol,
                    log_level=settings.log_level, access_log=settings.access_log, proxy_headers=False,
                    server_header=False, timeout_graceful_shutdown=20, **_healthcheck())
    finally:
        metrics_export.cleanup_multiprocess(multiproc)
        _remove(made)
    return 0


WORKER_HEALTHCHECK_SECONDS = 30.0


def _healthcheck() -> dict[str, Any]:
    """uvicorn ≥ 0.31 kills a worker that does not answer its parent's ping within 5 s and starts another; on
    a busy node a worker still importing and loading bundles misses that and is killed again and again. The
    limit is raised where uvicorn has it (a hung worker is still replaced, later)."""
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        return {"timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS}
    return {}


def _remove(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
