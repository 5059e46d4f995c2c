"""Sizing the one lever left for the core without compiling it (issue 15, item 6): typed decoding in C.

    .venv/bin/python -m bench.typed_decode                 # CPU per request, 10,000 requests, 5 rounds
    .venv/bin/python -m bench.typed_decode --callgrind     # instructions per request instead (load-proof)

Why: the full path's cost is the interpreter's, not the algorithm's. Reading and checking the
contract's sixty-odd fields (core/request.py, core/youth_care.py) costs some 500-800 instructions a
field in CPython 3.11 — a ``dict.get``, a type test, a set lookup, a length — and the service pays
``orjson.loads`` before that. A decoder that builds typed, checked objects in C does both at once:
msgspec (https://jcristharif.com/msgspec/) decodes JSON straight into ``Struct`` classes with
``Literal`` value sets and ``Meta`` length bounds, or converts a decoded dict into them.

This measures that lever before anyone builds it. :class:`SKETCH` is a msgspec schema of the
contract's youth-care request (docs/api.md, docs/facts.md), written to be *at least as strict* as the
core's readers (empty strings refused, no nulls for booleans, the readers' limits), so that a real
fast path could send everything it refuses to the readers, which word the error. :func:`sketch_reads`
adds what msgspec cannot say and Python still must: the moments and dates read by the core's own
readers (``moment``, ``plain_day``: the contract's forms, years 1900-2200) and the rules that tie two
fields together. It is a sketch, not the product: it does not hand on what the readers make of the
values (the ``other`` of unknown teams and channels, the facts), so it sizes the checking only.

Printed, on the corpus of bench/core_bench.py (every request valid):

- CPU per request (thread time, min and median of the rounds, the variants alternated) of
  ``orjson.loads``; the core's ``parse_envelope`` and youth-care readers on the decoded dict (what
  the sketch would replace), and the two together (the service's path); msgspec's typed decoding of
  the same bytes; msgspec's conversion of the decoded dict (core_bench's full path starts from the
  dict), alone and with the checks left to Python;
- how many requests the sketch accepts (all must: a refusal there would send a valid request to the
  slow path);
- the safety check: requests changed in one field each (a wrong JSON type, null, an empty, overlong
  or unknown string, an impossible or out-of-range date), read by both. A change the core refuses
  and the sketch accepts would be a hole in a fast path built on it; each is listed by field. Exit 1
  when there is one.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import orjson
from msgspec import Meta, Struct, field

from bench.core_bench import NOW, corpus
from bench.core_callgrind import _parts
from poortwachter.core import vocabulary as v
from poortwachter.core import youth_care
from poortwachter.core.errors import RequestError
from poortwachter.core.readers import (
    MAX_ATTESTATIONS,
    MAX_CONSENTS,
    MAX_GEZAGHEBBENDEN,
    MAX_MEASURES,
    MAX_OBJECTIONS,
    MAX_SHIELDED_FROM,
    MAX_TEXT,
    moment,
    plain_day,
)
from poortwachter.core.request import parse_envelope

ROOT = Path(__file__).resolve().parent.parent
Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]
Relation = Literal[v.RELATIONS]  # type: ignore[valid-type]
Scope = Literal[(*v.CATEGORIES, "dossier", "research")]  # type: ignore[valid-type]


class PartyProperties(Struct):
    team: Text | None = None
    relation: Relation | None = None
    gezag: bool = False
    identity_verified: bool = False
    discipline: Literal[v.DISCIPLINES] | None = None  # type: ignore[valid-type]
    treatment_relation: bool = False
    kind: Literal[v.ORGANISATION_KINDS] | None = None  # type: ignore[valid-type]
    in_care: bool = False


class Party(Struct):
    type: Literal[v.SUBJECT_TYPES]  # type: ignore[valid-type]
    id: Text
    properties: PartyProperties | None = None


class Transfer(Struct):
    reason: Text | None = None
    new_school_known: bool = False


class ActionProperties(Struct):
    recipient: Party | None = None
    transfer: Transfer | None = None
    setting: Text | None = None
    processing_activity_id: Text | None = None


class Action(Struct):
    name: Literal[v.ACTIONS]  # type: ignore[valid-type]
    properties: ActionProperties | None = None


Day = Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]  # the readers parse it (years 1900-2200)


class Client(Struct):
    id: Text
    birthdate: Day
    gezaghebbenden: Annotated[list[Text], Meta(max_length=MAX_GEZAGHEBBENDEN)] = []
    measures: Annotated[list[Literal[v.MEASURES]], Meta(max_length=MAX_MEASURES)] = []  # type: ignore[valid-type]
    deceased: bool = False
    date_of_death: Day | None = None
    wilsonbekwaam: bool = False


class Author(Struct):
    id: Text | None = None
    kind: Literal[v.AUTHOR_KINDS] | None = None  # type: ignore[valid-type]


class About(Struct):
    id: Text | None = None
    relation: Relation | None = None


class ResourceProperties(Struct):
    dossier_type: Literal[v.DOSSIER_TYPES]  # type: ignore[valid-type]
    client: Client
    category: Literal[v.CATEGORIES] | None = None  # type: ignore[valid-type]
    author: Author | None = None
    about: About | None = None
    shielded_from: Annotated[list[Text], Meta(max_length=MAX_SHIELDED_FROM)] = []
    confidential_from_parents: bool = False
    last_change: Day | None = None
    treatment_end: Day | None = None
    written_at: Day | None = None
    created_at: Day | None = None


class Resource(Struct):
    type: Literal[v.RESOURCE_TYPES]  # type: ignore[valid-type]
    id: Text
    properties: ResourceProperties


class Consent(Struct):
    by: Text
    for_: Text = field(name="for")
    scope: Scope
    given_at: Text  # a date-time of the contract's forms: readers.moment reads it
    withdrawn_at: Text | None = None


class Objection(Struct):
    by: Text
    scope: Scope
    for_: Text | None = field(name="for", default=None)
    given_at: Text | None = None
    form: Text | None = None
    withdrawn_at: Text | None = None


class Attestation(Struct):
    kind: Literal[v.ATTESTATIONS]  # type: ignore[valid-type]
    by: Text | None = None


class Context(Struct):
    time: Text | None = None
    purpose: Literal[v.PURPOSES] | None = None  # type: ignore[valid-type]
    channel: Text | None = None
    authn_level: Literal[v.AUTHN_LEVELS] | None = None  # type: ignore[valid-type]
    consents: Annotated[list[Consent], Meta(max_length=MAX_CONSENTS)] = []
    objections: Annotated[list[Objection], Meta(max_length=MAX_OBJECTIONS)] = []
    attestations: Annotated[list[Attestation], Meta(max_length=MAX_ATTESTATIONS)] = []
    bundle: Text | None = None


class SKETCH(Struct):
    """The youth-care request as msgspec would check it (see the module docstring)."""

    subject: Party
    action: Action
    resource: Resource
    context: Context = field(default_factory=Context)


_DECODER = msgspec.json.Decoder(SKETCH)


def core_reads(request: Any) -> None:
    """What the sketch would replace: the envelope and the youth-care readers (no facts, no rules)."""
    envelope = parse_envelope(request, NOW)
    stype, sid, sprops = envelope.subject
    youth_care.read_party(stype, sid, sprops, "subject")
    youth_care.read_action(envelope.action)
    youth_care.read_resource(envelope.resource)
    youth_care.read_context(envelope.context)


def sketch_converts(request: Any) -> SKETCH:
    return msgspec.convert(request, SKETCH)


def sketch_reads(request: Any) -> SKETCH:
    """The sketch and the checks a fast path built on it would still make in Python, each the core's
    own: the moments and dates read by the core's readers, and the rules that tie two fields together
    (a disclosure names its recipient, a dossier item its category)."""
    return _checked(sketch_converts(request))


def _checked(read: SKETCH) -> SKETCH:
    context, properties = read.context, read.resource.properties
    if context.time is not None and moment(context.time) is None:
        raise msgspec.ValidationError("a date-time the core does not take")
    for consent in context.consents:
        if moment(consent.given_at) is None or \
                (consent.withdrawn_at is not None and moment(consent.withdrawn_at) is None):
            raise msgspec.ValidationError("a date-time the core does not take")
    for objection in context.objections:
        if (objection.given_at is not None and moment(objection.given_at) is None) or \
                (objection.withdrawn_at is not None and moment(objection.withdrawn_at) is None):
            raise msgspec.ValidationError("a date-time the core does not take")
    client = properties.client
    if plain_day(client.birthdate) is None or \
            (client.date_of_death is not None and plain_day(client.date_of_death) is None):
        raise msgspec.ValidationError("a date the core does not take")
    for day in (properties.last_change, properties.treatment_end, properties.written_at, properties.created_at):
        if day is not None and plain_day(day) is None:
            raise msgspec.ValidationError("a date the core does not take")
    if read.action.name == "disclose" and (read.action.properties is None or read.action.properties.recipient is None):
        raise msgspec.ValidationError("a disclosure without its recipient")
    if read.resource.type == "dossier_item" and properties.category is None:
        raise msgspec.ValidationError("a dossier item without its category")
    return read


# ---------------------------------------------------------------------------------------------
# the safety check: one field changed, decided by both

_CHANGES: tuple[tuple[str, Any], ...] = (("null", None), ("a number", 7), ("true", True), ("an empty string", ""),
                                         ("an unknown word", "bogus"), ("an overlong string", "x" * (MAX_TEXT + 1)),
                                         ("an object", {}), ("a list", []), ("an impossible date", "2026-02-30"),
                                         ("a week date", "2026-W01-1"), ("a year out of range", "1899-12-31"))


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a decoded request, lists' items included."""
    found: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found += _paths(value, (*prefix, key))
    return found


def _changed(request: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(request)
    target: Any = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = copy.deepcopy(value)
    return out


def _refuses(fn: Callable[[Any], Any], request: Any, refusal: type[Exception]) -> bool:
    try:
        fn(request)
    except refusal:
        return True
    return False


def holes(requests: list[dict[str, Any]], seed: int) -> tuple[int, dict[str, int]]:
    """(changed requests tried, {field path: changes the core refused and the sketch accepted})."""
    rng = random.Random(seed)
    tried, found = 0, {}
    for request in requests:
        for path in rng.sample(_paths(request), k=min(6, len(_paths(request)))):
            for what, value in _CHANGES:
                changed = _changed(request, path, value)
                tried += 1
                if _refuses(core_reads, changed, RequestError) and not _refuses(sketch_reads, changed,
                                                                                 msgspec.ValidationError):
                    name = ".".join("[]" if isinstance(k, int) else str(k) for k in path) + f" = {what}"
                    found[name] = found.get(name, 0) + 1
    return tried, found


# ---------------------------------------------------------------------------------------------
# timing and counting


def _cpu(fn: Callable[[Any], Any], inputs: list[Any]) -> float:
    started = time.thread_time()
    for x in inputs:
        fn(x)
    return (time.thread_time() - started) / len(inputs) * 1e6


def _variants(requests: list[dict[str, Any]]) -> list[tuple[str, Callable[[Any], Any], list[Any]]]:
    bodies = [orjson.dumps(r) for r in requests]
    return [("orjson.loads (the service's decode)", orjson.loads, bodies),
            ("core: parse_envelope + youth-care readers, from the dict", core_reads, requests),
            ("the two together (the service's path to checked values)", lambda b: core_reads(orjson.loads(b)),
             bodies),
            ("msgspec: typed decode of the bytes (would replace the two)", _DECODER.decode, bodies),
            ("msgspec: typed decode of the bytes, and the checks left to Python",
             lambda b: _checked(_DECODER.decode(b)), bodies),
            ("msgspec: convert the dict (core_bench's starting point)", sketch_converts, requests),
            ("msgspec: convert the dict, and the checks left to Python", sketch_reads, requests)]


def _inside(n: int, seed: int) -> None:
    """The program callgrind counts: each variant between two ``getppid`` markers, after a warm-up."""
    variants = _variants(corpus(n, seed))
    for name, fn, inputs in variants:
        print(f"{name}\t{len(inputs)}")
        for x in inputs:
            fn(x)
    for _, fn, inputs in variants:
        os.getppid()
        for x in inputs:
            fn(x)
    os.getppid()


def _callgrind(n: int, seed: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pw-typed-"))
    done = subprocess.run(["valgrind", "--tool=callgrind", "--dump-before=getppid",
                           f"--callgrind-out-file={folder}/callgrind.out", sys.executable, "-m", "bench.typed_decode",
                           "--inside", "--n", str(n), "--seed", str(seed)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    print("| variant | instructions per request |\n|---|---:|")
    for line, count in zip(done.stdout.splitlines(), _parts(folder)[1:]):  # the first part: start-up, warm-up
        name, size = line.split("\t")
        print(f"| {name} | {count / int(size):,.0f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="requests (the safety check takes a tenth, at most 500)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--callgrind", action="store_true", help="count instructions instead (valgrind)")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inside:
        _inside(args.n, args.seed)
        return 0
    if args.callgrind:
        _callgrind(min(args.n, 2000), args.seed)
        return 0
    requests = corpus(args.n, args.seed)
    accepted = sum(not _refuses(sketch_reads, r, msgspec.ValidationError) for r in requests)
    print(f"corpus: {len(requests)} requests (seed {args.seed}), all valid; the sketch accepts {accepted}")
    variants = _variants(requests)
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for _ in range(args.rounds):
        for name, fn, inputs in variants:
            cpu[name].append(_cpu(fn, inputs))
    print("\n| variant | CPU µs per request (min; median) |\n|---|---:|")
    for name, values in cpu.items():
        print(f"| {name} | {min(values):.2f}; {statistics.median(values):.2f} |")
    tried, found = holes(requests[: min(500, max(1, args.n // 10))], args.seed)
    print(f"\nsafety check: {tried} requests changed in one field; refused by the core and accepted by the "
          f"sketch: {sum(found.values())}")
    for name, count in sorted(found.items()):
        print(f"  {name}: {count}")
    return 1 if found or accepted != len(requests) else 0


if __name__ == "__main__":
    sys.exit(main())
