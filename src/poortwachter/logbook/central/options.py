"""The central store's command-line options and defaults, apart from its driver.

``poortwachter --help``, ``serve`` and every other command build their parser from these without
importing psycopg; only a command that talks to the store (``logbook/central/cli.py``) imports it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DEFAULT_SCHEMA = "poortwachter"
MIN_KEEP_YEARS = 5  # Besluit vaststelling bewaartermijn logging (toolkit-jgz-2026 §6.5.1, bijlage C)
DEFAULT_KEEP_YEARS = 10  # the JGZ logboek (toolkit-jgz-2026 §6.5.1): complaints and tuchtrecht

DSN_ENV = "POORTWACHTER_DECISION_LOG_SHIP"
SCHEMA_ENV = "POORTWACHTER_DECISION_LOG_SHIP_SCHEMA"


def _store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dsn", default=None, help=f"PostgreSQL connection string of the central store (else ${DSN_ENV})")
    p.add_argument("--schema", default=None, help=f"the store's schema (default: ${SCHEMA_ENV} or {DEFAULT_SCHEMA})")


def add_query_options(cp: argparse.ArgumentParser) -> None:
    """``poortwachter log --dsn …``: ask the central store instead of local folders."""
    _store_options(cp)


def add_subcommands(cp: argparse.ArgumentParser) -> None:
    sub = cp.add_subparsers(dest="log_command", required=False, metavar="{migrate,ship,retention}",
                            help="central store (PostgreSQL): create/upgrade it, ship a journal to it, drop old years")
    m = sub.add_parser("migrate", help="create or upgrade the store's schema (versioned, idempotent)")
    _store_options(m)
    s = sub.add_parser("ship", help="copy a journal folder to the store, continuously (a sidecar process)")
    _store_options(s)
    s.add_argument("--dir", dest="ship_dir", metavar="DIR", type=Path, required=True, help="the journal folder the service writes")
    s.add_argument("--batch", type=int, default=2000, help="journal lines per transaction (default 2000)")
    s.add_argument("--poll", type=float, default=0.5, help="seconds between looks at the journal when idle")
    s.add_argument("--max-backoff", type=float, default=30.0, help="longest wait between retries (seconds)")
    s.add_argument("--source", default=os.environ.get("POD_NAME"), help="label for the segments (default $POD_NAME)")
    s.add_argument("--metrics-address", default=None, help="serve the shipping metrics on host:port")
    s.add_argument("--once", action="store_true", help="ship what is there now, then stop (exit 1 if it could not)")
    r = sub.add_parser("retention", help=f"drop year partitions older than --keep-years (never below "
                                         f"{MIN_KEEP_YEARS})")
    _store_options(r)
    r.add_argument("--keep-years", type=int, default=DEFAULT_KEEP_YEARS,
                   help=f"years to keep (default {DEFAULT_KEEP_YEARS}, the JGZ logboek; at least "
                        f"{MIN_KEEP_YEARS}, the legal minimum)")
    r.add_argument("--dry-run", action="store_true", help="say what would be dropped, drop nothing")
