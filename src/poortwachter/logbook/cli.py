"""``poortwachter log``: query and verify the decision log.

    poortwachter log --dir /var/lib/poortwachter --client c-9 --key-file key --decision allow
    poortwachter log --dir pod-a --dir pod-b --subject prof-7 --key-file key --since 2026-11-01 --format json
    poortwachter log --dir ... --client c-9 --key-file key --format summary  # who, how often, first and last time
    poortwachter log --dir ... --client c-9 --key-file key --format html -o overzicht.html  # for the parent
    poortwachter log --dir ... --verify --log-public-key log-key.pub         # nothing deleted, inserted, changed?

``--dir`` is repeatable and searched recursively (a volume root holding ``decisions/<pod>/`` folders
is one ``--dir``). Client and subject ids are pseudonymised with the same key(s) the service used
(``--key-file``, repeatable for old keys, or ``POORTWACHTER_DECISION_LOG_KEY``), so the log itself
never holds them. Every answer says what was searched; exit codes: 0 found, 1 searched and nothing
matched, 2 invalid, 3 nothing to search (no records, or a folder missing): never a silent "0".

Other stores (a database: ``--dsn``) plug in as one more source of a :class:`~.query.SearchReport`
in :func:`_search`; further ``log`` subcommands extend :func:`add_arguments`.
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

from ..artifacts import embedded
from ..artifacts.directory import load_directory
from ..artifacts.keys import load_keyring
from ..core.calendar import as_aware, start_of_day
from . import query as q
from .central import options as central_options
from .checkpoint import load_public_keys
from .overview import Reasons, render_html
from .pseudonym import Pseudonymiser, read_key
from .verify import UNSIGNED, findings

OK, FOUND_NOTHING, INVALID, NOTHING_TO_SEARCH = 0, 1, 2, 3
EXIT = {"found": OK, "none-found": FOUND_NOTHING, "nothing-to-search": NOTHING_TO_SEARCH}
KEY_ENV = "POORTWACHTER_DECISION_LOG_KEY"


def add_arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("--dir", type=Path, action="append", default=[],
                    help="decision log folder, searched with its subfolders; repeat for more "
                         "(default: $POORTWACHTER_DECISION_LOG when it is a folder)")
    cp.add_argument("--client", help="client id: pseudonymised with the key(s) and looked up")
    cp.add_argument("--client-pseudonym", help="an already pseudonymised client value, as logged")
    cp.add_argument("--key-file", type=Path, action="append", default=[],
                    help=f"pseudonymisation key file (repeat for keys used earlier); else ${KEY_ENV}")
    cp.add_argument("--subject", help="subject id (who asked): pseudonymised with the key(s) and looked up")
    cp.add_argument("--subject-pseudonym", help="a subject value as logged (pseudonymised, or in the clear)")
    cp.add_argument("--action", help="action name, e.g. read")
    cp.add_argument("--decision", choices=("allow", "deny"))
    cp.add_argument("--decision-id")
    cp.add_argument("--since", help="ISO date or date-time (inclusive; no offset = Amsterdam time)")
    cp.add_argument("--until", help="ISO date or date-time (exclusive)")
    cp.add_argument("--format", choices=("text", "json", "summary", "html"), default="text",
                    help="html: an overview a parent can read (who, when, what, why), for -o FILE")
    cp.add_argument("--bundles", type=Path, default=None,
                    help="with --format html: signed bundle artifacts whose rules explain each decision "
                         "(default: the embedded bundles)")
    cp.add_argument("--keys", type=Path, default=None, help="trusted public keys for --bundles (default: embedded)")
    cp.add_argument("-o", "--output", type=Path, help="write the answer to this file instead of standard output")
    cp.add_argument("--verify", action="store_true",
                    help="check the hash chains and checkpoints of every file instead of searching")
    cp.add_argument("--log-public-key", type=Path, action="append", default=[],
                    help="with --verify: the log's Ed25519 public key (PEM, or a folder of *.pub; repeat for "
                         "keys used earlier): checkpoint signatures are checked too")
    central_options.add_query_options(cp)
    central_options.add_subcommands(cp)


def _when(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        return start_of_day(date.fromisoformat(value)) if len(value) == 10 else as_aware(datetime.fromisoformat(value))
    except ValueError:
        raise ValueError(f"{flag}: not an ISO date or date-time: {value!r}") from None


def _keys(args: argparse.Namespace, flag: str) -> list[Pseudonymiser]:
    keys = [read_key(p) for p in args.key_file]
    if not keys and os.environ.get(KEY_ENV, "").strip():
        keys = [os.environ[KEY_ENV].strip().encode()]
    if not keys:
        raise ValueError(f"{flag} needs the pseudonymisation key: --key-file or {KEY_ENV} "
                         f"(or give {flag}-pseudonym)")
    return [Pseudonymiser(k) for k in keys]


def _matcher(args: argparse.Namespace, name: str) -> Callable[[str], bool] | None:
    """The logged values that stand for the id given: its pseudonym under every key, or as logged."""
    as_logged = getattr(args, f"{name}_pseudonym")
    if as_logged:
        return as_logged.__eq__  # type: ignore[no-any-return]
    real = getattr(args, name)
    if not real:
        return None
    return ({p(real) for p in _keys(args, f"--{name}")} | {real}).__contains__


def folders(args: argparse.Namespace) -> list[Path]:
    """The folders to read: every ``--dir``, else ``$POORTWACHTER_DECISION_LOG`` (a folder setting)."""
    if args.dir:
        return list(args.dir)
    env = os.environ.get("POORTWACHTER_DECISION_LOG", "")
    if env and env not in ("stdout", "off"):
        return [Path(env)]
    raise ValueError("no decision log folder: give --dir (repeatable)")


def make_query(args: argparse.Namespace) -> q.Query:
    return q.Query(client=_matcher(args, "client"), subject=_matcher(args, "subject"), action=args.action,
                   decision=args.decision, decision_id=args.decision_id, since=_when(args.since, "--since"),
                   until=_when(args.until, "--until"))


def _search(args: argparse.Namespace, query: q.Query) -> q.SearchReport:
    if args.dsn:  # the central store answers, with the same report
        from .central import cli as central_cli  # psycopg is imported only by a command that talks to the store

        return central_cli.search_report(args, query)
    return q.search_report(folders(args), query)


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


def bundle_reasons(bundles: Path | None, keys: Path | None) -> Reasons:
    """Rule id → its Dutch reason and legal basis, from the (signed) bundles that decided."""
    loaded = load_directory(bundles or embedded.bundle_dir(), load_keyring(keys or embedded.key_dir()))
    texts = {(b.bundle.name, b.bundle.version, rule.id): (rule.reason.nl, rule.basis)
             for versions in loaded.catalog.versions.values() for b in versions for rule in b.bundle.rules}
    return lambda name, version, rule: texts.get((name, version, rule))


def render(report: q.SearchReport, fmt: str, client: str | None = None, reasons: Reasons | None = None) -> bytes:
    """The answer in one format; every format carries what was searched."""
    if fmt == "json":
        return orjson.dumps({"searched": report.as_json(), "decisions": list(report.matches)},
                            option=orjson.OPT_INDENT_2) + b"\n"
    if fmt == "html":
        return render_html(report, client=client, reasons=reasons).encode()
    lines = _summary(report.matches) if fmt == "summary" else list(q.render_text(report.matches))
    lines += ["", report.statement(), *(f"  searched {s.describe()}" for s in report.stores)]
    lines += [f"  note: {p}" for p in report.problems]
    return ("\n".join(lines) + "\n").encode()


def _verify(args: argparse.Namespace) -> int:
    keys = load_public_keys(args.log_public_key) if args.log_public_key else None
    dirs = folders(args)
    missing = [d for d in dirs if not d.is_dir()]
    reports = q.verify([d for d in dirs if d.is_dir()], keys)
    for d in missing:
        print(f"{d}: not a folder: nothing to verify there")
    bad = 0
    for report in reports:
        state = "ok" if not report.problems else "BROKEN"
        tail = ", torn last line (crash while writing; that request was never answered)" if report.torn_tail else ""
        closed = "closed" if report.closed else "open or not closed cleanly"
        end = f", end checked ({report.end})" if report.end else ""
        signed = f", {report.signed} signed checkpoint(s) verified" if keys is not None else ""
        print(f"{report.path}: {state}, {report.records} records, {closed}{end}{signed}{tail}")
        for line in findings(report.problems, report.notes):
            print(line)
        bad += bool(report.problems)
    if keys is None and reports:
        print(f"note: {UNSIGNED}")
    if missing or not reports:
        print(f"nothing to verify: {len(reports)} file(s) in {', '.join(map(str, dirs))}", file=sys.stderr)
        return NOTHING_TO_SEARCH
    print(f"{len(reports)} file(s) verified, {bad} broken", file=sys.stderr)
    return OK if not bad else FOUND_NOTHING


def run(args: argparse.Namespace) -> int:
    if getattr(args, "log_command", None) or (args.dsn and args.verify):
        from .central import cli as central_cli  # psycopg is imported only by a command that talks to the store

        return central_cli.run(args) if getattr(args, "log_command", None) else central_cli.verify(args)
    if args.verify:
        return _verify(args)
    if args.format == "html" and not args.output:
        raise ValueError("--format html needs -o FILE")
    report = _search(args, make_query(args))
    reasons = bundle_reasons(args.bundles, args.keys) if args.format == "html" else None
    data = render(report, args.format, client=args.client or args.client_pseudonym, reasons=reasons)
    if args.output:
        args.output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    print(report.statement(), file=sys.stderr)
    return EXIT[report.outcome]

