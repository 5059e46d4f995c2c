"""``poortwachter log migrate | ship | retention`` and the ``--dsn`` options of ``poortwachter log``.

    poortwachter log migrate   --dsn postgresql://poortwachter@db/audit
    poortwachter log ship      --dsn … --dir /var/lib/poortwachter/decisions [--metrics-address 0.0.0.0:9465]
    poortwachter log retention --dsn … --keep-years 10 [--dry-run]

The DSN may also come from ``POORTWACHTER_DECISION_LOG_SHIP`` (the service's setting). Keep the password
out of it: libpq reads ``PGPASSWORD`` or a ``PGPASSFILE`` (a mounted Secret).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from ..pseudonym import Pseudonymiser, read_key
from . import schema, store
from .db import DEFAULT_SCHEMA, Target, connect
from .ship import Shipper, ShipperConfig

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
    s.add_argument("--dir", dest="ship_dir", type=Path, required=True, help="the journal folder the service writes")
    s.add_argument("--batch", type=int, default=2000, help="journal lines per transaction (default 2000)")
    s.add_argument("--poll", type=float, default=0.5, help="seconds between looks at the journal when idle")
    s.add_argument("--max-backoff", type=float, default=30.0, help="longest wait between retries (seconds)")
    s.add_argument("--source", default=os.environ.get("POD_NAME"), help="label for the segments (default $POD_NAME)")
    s.add_argument("--metrics-address", default=None, help="serve the shipping metrics on host:port")
    s.add_argument("--once", action="store_true", help="ship what is there now, then stop (exit 1 if it could not)")
    r = sub.add_parser("retention", help=f"drop year partitions older than --keep-years (never below "
                                         f"{schema.MIN_KEEP_YEARS})")
    _store_options(r)
    r.add_argument("--keep-years", type=int, default=schema.DEFAULT_KEEP_YEARS,
                   help=f"years to keep (default {schema.DEFAULT_KEEP_YEARS}, the JGZ logboek; at least "
                        f"{schema.MIN_KEEP_YEARS}, the legal minimum)")
    r.add_argument("--dry-run", action="store_true", help="say what would be dropped, drop nothing")


def target(args: argparse.Namespace) -> Target:
    dsn = args.dsn or os.environ.get(DSN_ENV, "")
    if not dsn.strip():
        raise ValueError(f"no central store: give --dsn or set {DSN_ENV}")
    return Target(dsn, args.schema or os.environ.get(SCHEMA_ENV) or DEFAULT_SCHEMA)


def run(args: argparse.Namespace) -> int:
    """The subcommands; exit 0 on success."""
    if args.log_command == "ship":
        return _ship(args)
    where = target(args)
    with connect(where) as conn:
        if args.log_command == "migrate":
            done = schema.migrate(conn, where.schema)
            print("\n".join(done) if done else "the store is up to date")
            print(f"schema {where.schema}: migrations {sorted(schema.applied(conn))}")
            return 0
        done = schema.retention(conn, where.schema, args.keep_years, dry_run=args.dry_run)
        print("\n".join(done) if done else f"nothing older than {args.keep_years} years")
        return 0


def _ship(args: argparse.Namespace) -> int:
    from .metrics import PrometheusObserver

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = ShipperConfig(args.ship_dir, target(args), batch_lines=args.batch, poll_seconds=args.poll,
                           max_backoff=args.max_backoff, round_lines=max(50_000, args.batch), source=args.source)
    if args.metrics_address:
        from prometheus_client import start_http_server

        host, _, port = args.metrics_address.rpartition(":")
        start_http_server(int(port), host or "0.0.0.0")  # noqa: S104 - the operator names the address
    shipper = Shipper(config, PrometheusObserver())
    stop = threading.Event()
    if args.once:
        return _ship_once(shipper, stop)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    shipper.run(stop)
    return 0


def _ship_once(shipper: Shipper, stop: threading.Event) -> int:
    """Until nothing is pending; a failure ends it (exit 1; the journal keeps everything)."""
    try:
        status = shipper.ship_pending(stop)
    finally:
        shipper.close()
    if status is None:
        print("another shipper holds this journal's lock; nothing done", file=sys.stderr)
        return 1
    print(f"shipped {shipper.shipped_total} record(s); {status.pending_records} line(s) pending")
    return 0 if not status.pending_records else 1


def _values(single: str | None, pseudonym: str | None, key_files: list[Path]) -> list[str] | None:
    """The logged values to look up: the pseudonym given, or the id pseudonymised with every key (and as is)."""
    if pseudonym:
        return [pseudonym]
    if not single:
        return None
    keys = [read_key(p) for p in key_files]
    env_key = os.environ.get("POORTWACHTER_DECISION_LOG_KEY", "").strip()
    if not keys and env_key:
        keys = [env_key.encode()]
    if not keys:
        raise ValueError("--client needs the pseudonymisation key: --key-file or POORTWACHTER_DECISION_LOG_KEY "
                         "(or give --client-pseudonym)")
    return sorted({Pseudonymiser(k)(single) for k in keys} | {single})


def query(args: argparse.Namespace, since: datetime | None, until: datetime | None) -> int:
    """``poortwachter log --dsn …``: the same questions and formats as the local folders, from the store."""
    where = target(args)
    if args.verify:
        return _verify(where)
    clients = _values(args.client, args.client_pseudonym, args.key_file)
    subjects = _values(args.subject, args.subject_pseudonym, args.key_file)  # subject ids are pseudonymised too
    with connect(where) as conn:
        schema.check_current(conn)
        holds = store.held(conn)
        window = holds.records if since is None and until is None else store.in_window(conn, since, until)
        matches = [r for r in store.search(conn, clients=clients, subjects=subjects, decision_id=args.decision_id,
                                           since=since, until=until)
                   if (args.action is None or r.get("action") == args.action)
                   and (args.decision is None or r.get("decision") == args.decision)]
    _render(args.format, matches)
    print(_statement(store.location(where), holds, window, since, until, len(matches)), file=sys.stderr)
    return 0 if matches else 1


def _iso(when: datetime | None) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if when else "-"


def _statement(where: str, holds: store.Held, window: int, since: datetime | None, until: datetime | None,
               found: int) -> str:
    searched = (f"postgresql {where}: {holds.records} record(s) from {_iso(holds.first)} to {_iso(holds.last)} "
                f"in {holds.segments} journal segment(s)")
    if not holds.records:
        return f"nothing to search: {searched}. This is NOT an answer that nobody had access."
    span = "" if since is None and until is None else f", of which {window} in the window {_iso(since)} to {_iso(until)}"
    head = f"{found} decision(s) found" if found else "no access found"
    return f"{head} in {searched}{span}"


def _render(fmt: str, records: list[dict[str, Any]]) -> None:
    from ..cli import _summary
    from ..query import render_text

    if fmt == "json":
        for r in records:
            sys.stdout.buffer.write(orjson.dumps(r) + b"\n")
        sys.stdout.flush()
    elif fmt == "summary":
        print("\n".join(_summary(records)))
    else:
        for line in render_text(records):
            print(line)


def _verify(where: Target) -> int:
    """Rebuild the store's segments in a scratch folder and check them like local folders, plus the rows."""
    from ..query import verify as verify_folder
    from .verify import rebuild

    with tempfile.TemporaryDirectory(prefix="poortwachter-verify-") as scratch, connect(where) as conn:
        schema.check_current(conn)
        report = rebuild(conn, Path(scratch))
        bad = len(report.problems)
        print(f"postgresql {store.location(where)}: {report.segments} segment(s), {report.lines} line(s)")
        for p in report.problems:
            print(f"    {p}")
        for note in report.notes:
            print(f"    note: {note}")
        for folder in report.folders:
            for file in verify_folder(folder):
                state = "ok" if not file.problems else "BROKEN"
                print(f"{folder.name}/{file.path.name}: {state}, {file.records} records"
                      + (f", end checked ({file.end})" if file.end else ""))
                for p in file.problems:
                    print(f"    {p}")
                for note in file.notes:
                    print(f"    note: {note}")
                bad += bool(file.problems)
    print("the store verifies" if not bad else f"{bad} problem(s): the store does NOT verify", file=sys.stderr)
    return 0 if not bad else 1
