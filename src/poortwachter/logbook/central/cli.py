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
from pathlib import Path
from types import FrameType

from ..pseudonym import Pseudonymiser, read_key
from ..query import Query, SearchReport, StoreSearched
from ..verify import UNSIGNED, findings
from . import schema, store
from .db import StoreError, Target, connect
from .options import DEFAULT_SCHEMA, DSN_ENV, SCHEMA_ENV
from .ship import Shipper, ShipperConfig


def target(args: argparse.Namespace) -> Target:
    if args.dsn and getattr(args, "dir", None) and getattr(args, "log_command", None) is None:
        raise ValueError("give --dsn (the central store) or --dir (folders), not both: one answer, one source")
    dsn = args.dsn or os.environ.get(DSN_ENV, "")
    if not dsn.strip():
        raise ValueError(f"no central store: give --dsn or set {DSN_ENV}")
    if dsn.strip() == "sidecar":
        raise ValueError(f"{DSN_ENV}=sidecar tells the service a sidecar ships; the sidecar itself needs the DSN")
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


def search_report(args: argparse.Namespace, query: Query) -> SearchReport:
    """``poortwachter log --dsn …``: the same question, answered from the store's indexes, with the same report
    (the store, the records it holds from when to when, how many fell in the window). A store that cannot be
    reached is reported as not searched — never as "no access found"."""
    where = target(args)
    place = store.location(where)
    clients = _values(args.client, args.client_pseudonym, args.key_file)
    subjects = _values(args.subject, getattr(args, "subject_pseudonym", None), args.key_file)
    try:
        with connect(where) as conn:
            schema.check_current(conn)
            holds = store.held(conn)
            window = (holds.records if query.since is None and query.until is None
                      else store.in_window(conn, query.since, query.until))
            matches = tuple(r for r in store.search(conn, clients=clients, subjects=subjects,
                                                    decision_id=query.decision_id, since=query.since,
                                                    until=query.until) if query.matches(r))
    except StoreError as exc:
        return SearchReport((StoreSearched(place, "postgresql", found=False, why=str(exc)),), query.since, query.until)
    searched = StoreSearched(place, "postgresql", True, 0, holds.records, holds.first, holds.last)
    return SearchReport((searched,), query.since, query.until, window, matches)


def verify(args: argparse.Namespace) -> int:
    """Rebuild the store's segments in a scratch folder and check them like local folders (with the log
    public keys: their signed checkpoints too), plus the rows."""
    from ..checkpoint import load_public_keys
    from ..query import verify as verify_folders
    from .verify import rebuild

    where = target(args)
    keys = load_public_keys(args.log_public_key) if getattr(args, "log_public_key", None) else None
    with tempfile.TemporaryDirectory(prefix="poortwachter-verify-") as scratch, connect(where) as conn:
        schema.check_current(conn)
        report = rebuild(conn, Path(scratch))
        bad = len(report.problems)
        print(f"postgresql {store.location(where)}: {report.segments} segment(s), {report.lines} line(s)")
        for line in findings(report.problems, report.notes):
            print(line)
        files = verify_folders(report.folders, keys) if report.folders else []
        for file in files:
            state = "ok" if not file.problems else "BROKEN"
            signed = f", {file.signed} signed checkpoint(s) verified" if keys is not None else ""
            print(f"{file.path.parent.name}/{file.path.name}: {state}, {file.records} records{signed}")
            for line in findings(file.problems, file.notes):
                print(line)
            bad += bool(file.problems)
    if keys is None and files:
        print(f"note: {UNSIGNED}")
    if not report.segments:
        print("nothing to verify: the store holds no journal segments", file=sys.stderr)
        return 3
    print("the store verifies" if not bad else f"{bad} problem(s): the store does NOT verify", file=sys.stderr)
    return 0 if not bad else 1
