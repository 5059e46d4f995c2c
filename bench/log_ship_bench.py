"""Shipping throughput: journal records per second into PostgreSQL on this machine.

    .venv/bin/python -m bench.log_ship_bench                       # 200 000 records, batches of 500/2000/5000
    .venv/bin/python -m bench.log_ship_bench --records 20000 --batch 2000
    .venv/bin/python -m bench.log_ship_bench --dsn "host=db user=poortwachter dbname=audit"

Writes a real journal with the service's writer (records shaped like the service's: subject, role,
client pseudonym, item, rules, obligations, bundle), then times :meth:`Shipper.ship_pending` from an
empty store (a scratch schema, dropped afterwards) for each batch size: parse, COPY into the year
partition and the position update, one transaction per batch. Besides wall-clock records/s it counts
the CPU the shipper and its PostgreSQL backend used (when the server is local), so a figure taken on a
busy machine still says what one free core does. Prints a Markdown table (docs/operations.md quotes it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from poortwachter.logbook.central import schema
from poortwachter.logbook.central.db import Target, connect
from poortwachter.logbook.central.ship import Shipper, ShipperConfig
from poortwachter.logbook.pseudonym import Pseudonymiser
from poortwachter.logbook.writer import LogWriter, WriterConfig

DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def journal(directory: Path, records: int) -> int:
    """A journal of ``records`` service-shaped records; its size in bytes."""
    writer = LogWriter(WriterConfig(directory, durability="write", max_pending=50_000, wait_timeout=120),
                       Pseudonymiser(b"bench-pseudonym-key-0123456789ab")).start()
    last = 0
    for n in range(records):
        last = writer.submit({
            "decision_id": f"bench-{n:x}", "request_id": f"r-{n:x}", "endpoint": "/access/v1/evaluation",
            "subject": {"id": f"prof-{n % 500}", "type": "professional", "role": "jeugdarts"},
            "organisation": "ggd-1", "action": "read", "client": f"c-{n % 20_000}",
            "item": {"type": "dossier_item", "id": f"d-{n % 20_000}/groei/{n}", "category": "groei",
                     "dossier_type": "jgz"},
            "decision": "allow", "rules": ["jgz.inzage.behandelaar"], "obligations": ["log-access"],
            "bundle": {"name": "nl-jgz", "version": "2026.1", "revision": "sha256:0123456789abcdef"},
            "purpose": "care"}, wake=n % 1000 == 999)
    writer.wait(last, 120)
    writer.close()
    return sum(p.stat().st_size for p in directory.glob("decisions-*"))


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a local process has used; 0 when it is not on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(dsn: str, records: int, batches: list[int]) -> list[tuple[int, float, float, float]]:
    work = Path(tempfile.mkdtemp(prefix="poortwachter-ship-bench-"))
    results = []
    try:
        size = journal(work / "journal", records)
        print(f"journal: {records} records, {size / 1e6:.1f} MB")
        for batch in batches:
            name = f"bench_ship_{uuid.uuid4().hex[:8]}"
            target = Target(dsn, name)
            with connect(target) as conn:
                schema.migrate(conn, name)
            shipper = Shipper(ShipperConfig(work / "journal", target, batch_lines=batch, round_lines=max(batch, 50_000)))
            try:
                backend = shipper._connection().info.backend_pid  # the server process doing the inserts
                server_cpu, client_cpu = _cpu(backend), time.process_time()
                started = time.perf_counter()
                status = shipper.ship_pending()
                took = time.perf_counter() - started
                cpu = (_cpu(backend) - server_cpu) + (time.process_time() - client_cpu)
            finally:
                shipper.close()
                (work / "journal" / ".ship-position.json").unlink(missing_ok=True)
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {name} CASCADE")  # our own scratch name
            assert status is not None and status.pending_records == 0 and shipper.shipped_total == records
            results.append((batch, took, records / took, records / cpu if cpu > 0 else 0.0))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dsn", default=DSN)
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--batch", type=int, action="append", help="batch size(s); default 500, 2000, 5000")
    args = p.parse_args()
    rows = run(args.dsn, args.records, args.batch or [500, 2000, 5000])
    print("\n| batch (lines per transaction) | seconds | records/s | records per CPU-second (shipper + server) |"
          "\n|---:|---:|---:|---:|")
    for batch, took, rate, per_cpu in rows:
        print(f"| {batch} | {took:.2f} | {rate:,.0f} | {per_cpu:,.0f} |")


if __name__ == "__main__":
    main()
