"""``poortwachter log``: query and verify the decision log files.

    poortwachter log --dir /var/lib/poortwachter/decisions --client c-9 --key-file key --decision allow
    poortwachter log --dir ... --subject prof-7 --since 2026-11-01 --until 2026-12-01 --format json
    poortwachter log --dir ... --client c-9 --format summary      # who, how often, first and last time
    poortwachter log --dir ... --verify                            # hash chains and file ends intact?

The client id is pseudonymised with the same key(s) the service used (``--key-file``, repeatable for
old keys, or ``POORTWACHTER_DECISION_LOG_KEY``), so the log itself never holds it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from ..core.calendar import as_aware, start_of_day
from . import query as q
from .central import cli as central_cli
from .pseudonym import Pseudonymiser, read_key

OK, FOUND_NOTHING, INVALID = 0, 1, 2


def add_arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("--dir", type=Path, default=None,
                    help="decision log folder (default: $POORTWACHTER_DECISION_LOG when it is a folder)")
    cp.add_argument("--client", help="client id: pseudonymised with the key(s) and looked up")
    cp.add_argument("--client-pseudonym", help="an already pseudonymised client value, as logged")
    cp.add_argument("--key-file", type=Path, action="append", default=[],
                    help="pseudonymisation key file (repeat for keys used earlier); else $POORTWACHTER_DECISION_LOG_KEY")
    cp.add_argument("--subject", help="subject id (who asked)")
    cp.add_argument("--action", help="action name, e.g. read")
    cp.add_argument("--decision", choices=("allow", "deny"))
    cp.add_argument("--decision-id")
    cp.add_argument("--since", help="ISO date or date-time (inclusive; no offset = Amsterdam time)")
    cp.add_argument("--until", help="ISO date or date-time (exclusive)")
    cp.add_argument("--format", choices=("text", "json", "summary"), default="text")
    cp.add_argument("--verify", action="store_true", help="check the hash chain of every file instead")
    central_cli.add_query_options(cp)
    central_cli.add_subcommands(cp)


def _when(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        return start_of_day(date.fromisoformat(value)) if len(value) == 10 else as_aware(datetime.fromisoformat(value))
    except ValueError:
        raise ValueError(f"{flag}: not an ISO date or date-time: {value!r}") from None


def _client_matcher(args: argparse.Namespace) -> Callable[[str], bool] | None:
    if args.client_pseudonym:
        wanted = args.client_pseudonym
        return lambda logged: logged == wanted
    if not args.client:
        return None
    keys = [read_key(p) for p in args.key_file]
    if not keys and os.environ.get("POORTWACHTER_DECISION_LOG_KEY", "").strip():
        keys = [os.environ["POORTWACHTER_DECISION_LOG_KEY"].strip().encode()]
    if not keys:
        raise ValueError("--client needs the pseudonymisation key: --key-file or POORTWACHTER_DECISION_LOG_KEY "
                         "(or give --client-pseudonym)")
    candidates = {Pseudonymiser(k)(args.client) for k in keys} | {args.client}
    return candidates.__contains__


def _summary(records: Iterable[dict[str, Any]]) -> list[str]:
    who: dict[tuple[str, str, str], list[Any]] = {}
    for r in records:
        s = r.get("subject") or {}
        key = (str(s.get("id")), str(s.get("type")), str(s.get("role") or "-"))
        entry = who.setdefault(key, [0, r.get("time"), r.get("time"), set()])
        entry[0] += 1
        entry[2] = r.get("time")
        entry[3].add(f"{r.get('action')}:{r.get('decision')}")
    out = [f"{'subject (type/role)':44} {'count':>5}  {'first':32} {'last':32} actions"]
    for (sid, stype, role), (n, first, last, acts) in sorted(who.items(), key=lambda kv: str(kv[1][1])):
        out.append(f"{f'{sid} ({stype}/{role})':44} {n:5}  {first:32} {last:32} {', '.join(sorted(acts))}")
    return out


def run(args: argparse.Namespace) -> int:
    if getattr(args, "log_command", None):
        return central_cli.run(args)
    if args.dsn:
        return central_cli.query(args, _when(args.since, "--since"), _when(args.until, "--until"))
    directory = args.dir or (Path(os.environ["POORTWACHTER_DECISION_LOG"])
                             if os.environ.get("POORTWACHTER_DECISION_LOG") else None)
    if directory is None or not directory.is_dir():
        raise ValueError(f"no decision log folder {directory or ''} (give --dir)".replace("  ", " "))
    if args.verify:
        bad = 0
        for report in q.verify(directory):
            state = "ok" if not report.problems else "BROKEN"
            tail = ", torn last line (crash while writing; that request was never answered)" if report.torn_tail else ""
            closed = "closed" if report.closed else "open or not closed cleanly"
            end = f", end checked ({report.end})" if report.end else ""
            print(f"{report.path.name}: {state}, {report.records} records, {closed}{end}{tail}")
            for p in report.problems:
                print(f"    {p}")
            for note in report.notes:
                print(f"    note: {note}")
            bad += bool(report.problems)
        return OK if not bad else 1
    query = q.Query(client=_client_matcher(args), subject=args.subject, action=args.action, decision=args.decision,
                    decision_id=args.decision_id, since=_when(args.since, "--since"), until=_when(args.until, "--until"))
    problems: list[str] = []
    records = q.search(directory, query, on_problem=problems.append)
    found = 0
    out = sys.stdout
    if args.format == "json":
        for r in records:
            found += 1
            out.buffer.write(orjson.dumps(r) + b"\n")
    elif args.format == "summary":
        listed = list(records)
        found = len(listed)
        print("\n".join(_summary(listed)))
    else:
        for n, line in enumerate(q.render_text(records)):
            found += n > 0
            print(line)
    for p in problems:
        print(f"note: {p}", file=sys.stderr)
    print(f"{found} decision(s)", file=sys.stderr)
    return OK if found else FOUND_NOTHING
