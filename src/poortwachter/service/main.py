"""`poortwachter serve`: resolve the settings once, then run uvicorn (uvloop, httptools).

The resolved settings go to the worker processes as JSON in POORTWACHTER_SETTINGS_JSON, so every
worker runs the same configuration even when it came from flags. With more than one worker a shared
state folder is needed for admin actions to reach every worker; one is created if none is set.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

import uvicorn

from .settings import SETTINGS_ENV, Settings, SettingsError, load_settings

log = logging.getLogger("poortwachter.service")


def resolve(args: argparse.Namespace) -> Settings:
    cli = {"host": args.host, "port": args.port, "bundles": args.bundles, "workers": args.workers}
    settings = load_settings(cli, config=getattr(args, "config", None))
    if settings.workers > 1 and settings.state_dir is None:
        settings = settings.model_copy(update={"state_dir": Path(tempfile.mkdtemp(prefix="poortwachter-state-"))})
    return settings


def serve(args: argparse.Namespace) -> int:
    try:
        settings = resolve(args)
        from .app import build_service

        build_service(settings).decision_log.close()  # fail fast on unusable tokens, keys, inventory
    except SettingsError as exc:
        print(f"poortwachter serve: {exc}", file=sys.stderr)
        return 2
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    print(f"poortwachter: serving on http://{settings.host}:{settings.port} "
          f"(bundles {settings.bundles}, default {settings.default_bundle}, workers {settings.workers})",
          file=sys.stderr)
    from . import metrics

    multiproc = metrics.prepare_multiprocess(settings.workers)  # before the workers import prometheus_client
    exporter = getattr(settings, "metrics_address", None) or os.environ.get("POORTWACHTER_METRICS_ADDRESS")
    if exporter:  # /metrics only, e.g. on the pod IP beside a loopback-only decision API
        metrics.start_exporter(exporter)  # workers > 1: this parent reads every worker's samples
    try:
        uvicorn.run("poortwachter.service.app:create_app_from_env", factory=True, host=settings.host,
                    port=settings.port, workers=settings.workers, loop="uvloop", http="httptools",
                    log_level=settings.log_level, access_log=settings.access_log, proxy_headers=False,
                    server_header=False, timeout_graceful_shutdown=20)
    finally:
        metrics.cleanup_multiprocess(multiproc)
    return 0
