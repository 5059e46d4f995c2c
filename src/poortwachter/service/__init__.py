"""The decision service: AuthZEN 1.0 and a native API over the policy core.

    app.py        FastAPI factory, edge middleware, lifespan (load, watch, close)
    authzen.py    /access/v1/evaluation(s), search, /.well-known/authzen-configuration
    native.py     /v1/decisions (explained), /v1/filter
    admin.py      /v1/bundles: list, inspect, reload, activate, rollback
    decider.py    the hot path: parse → select bundle → facts → cache → evaluate → log
    store.py      verified bundles behind an atomically swapped snapshot; reload.py watches the folder
    cache.py      (revision, facts) → verdict
    filtering.py  many items for one subject and action (filter, search, pages)
    body.py, problems.py, security.py   the hardened edge: size, media type, RFC 9457, tokens
    schemas.py, openapi.py              the documented API (vocabulary from core.vocabulary)
    metrics.py, decision_log.py         operator hooks; log_sinks.py: where records go (one LogSink interface)
    settings.py, main.py                configuration and `poortwachter serve`

``__all__`` is the surface for embedding and tests (tests/test_surface.py checks it). The names load on
first use: importing ``poortwachter.service.settings`` must not import the app (``serve`` prepares the
Prometheus multiprocess folder before the app's modules are imported).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import build_service, create_app, create_app_from_env
    from .decision_log import DecisionLog, DecisionLogUnavailable, open_decision_log
    from .log_sinks import LogSink
    from .settings import Settings, SettingsError, load_settings, settings_from_env
    from .store import BundleStore

_WHERE = {"build_service": "app", "create_app": "app", "create_app_from_env": "app", "DecisionLog": "decision_log",
          "DecisionLogUnavailable": "decision_log", "open_decision_log": "decision_log", "LogSink": "log_sinks",
          "Settings": "settings", "SettingsError": "settings", "load_settings": "settings",
          "settings_from_env": "settings", "BundleStore": "store"}

__all__ = ["BundleStore", "DecisionLog", "DecisionLogUnavailable", "LogSink", "Settings", "SettingsError",
           "build_service", "create_app", "create_app_from_env", "load_settings", "open_decision_log",
           "settings_from_env"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
