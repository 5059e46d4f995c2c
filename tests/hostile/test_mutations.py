"""Structure-aware mutation of valid requests (the scenario suites of policies/*/tests) against the app.

Each mutation has a class that says what a sound answer is:

- no-op (unknown keys added, keys reordered, re-encoded, a single request sent as a batch of one): the
  same decision by the same rules as the unmutated request;
- invalidating (a value of the wrong type, nesting, a huge string or list, a far date, a NUL or control
  character, a duplicate key, a required key removed): a 4xx problem naming the field, or a deny, or an
  allow only where the unmutated request was allowed — invalid input never widens access;
- meaning-changing (removing a key whose absence the contract defines, e.g. no objections; other
  unicode in a value): any well-formed answer — only no 5xx, no internal error and no hang is checked.

CI runs a fixed number of examples derandomized (reproducible); POORTWACHTER_FUZZ_EXAMPLES=n runs n per
family with a random seed (nightly). Every decision id answered is checked against the log at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support import logged_ids

from .conftest import EXAMPLES, Baseline, Hostile, check, count

# the module's baselines (every suite scenario sent once, ~5 s) are built on one worker, not on both
pytestmark = pytest.mark.xdist_group("hostile-mutations")

PER_FAMILY = EXAMPLES or 80
FUZZ = settings(max_examples=PER_FAMILY, deadline=None, derandomize=not EXAMPLES, database=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
ANSWERED: set[str] = set()  # decision ids of every 200 answer, checked against the log at the end
UNKNOWN = "zz_not_in_any_vocabulary"
#: keys whose absence the contract gives a meaning (none, false, now, the routed bundle): removing them may
#: rightly change a deny into an allow (no objection, not shielded, ...)
ABSENCE_MEANS_SOMETHING = {"objections", "shielded_from", "confidential_from_parents", "attestations", "withdrawn_at",
                           "deceased", "date_of_death", "wilsonbekwaam", "measures", "about", "bundle", "time",
                           "is_about", "legal_retention_duty", "for", "given_at", "treatment_end", "last_change",
                           "created_at", "written_at", "form"}
#: lists whose elements restrict access: removing one may rightly allow
RESTRICTING_LISTS = {"objections", "shielded_from", "attestations", "measures"}
DATE_KEYS = {"time", "birthdate", "given_at", "withdrawn_at", "date_of_death", "last_change", "treatment_end",
             "created_at", "written_at"}
FAR_DATES = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "0001-01-01", "9999-12-31", "1900-02-29",
             "2016-02-30", "+12016-05-30", "2016-05-30T24:00:00", "-0001-01-01", "2016-05-30T10:00:00+25:00"]

Path_ = tuple[str | int, ...]


# ------------------------------------------------------------------------------------ tree helpers


def paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every position below the root."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield prefix + (i,)
            yield from paths(v, prefix + (i,))


def get(node: Any, path: Path_) -> Any:
    for p in path:
        node = node[p]
    return node


def put(node: Any, path: Path_, value: Any) -> Any:
    """A copy with ``value`` at ``path``."""
    tree = json.loads(json.dumps(node))
    get(tree, path[:-1])[path[-1]] = value
    return tree


def delete(node: Any, path: Path_) -> Any:
    tree = json.loads(json.dumps(node))
    del get(tree, path[:-1])[path[-1]]
    return tree


def dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def _key(path: Path_) -> str | None:
    """The nearest dict key of a position (a list element's list key)."""
    return next((p for p in reversed(path) if isinstance(p, str)), None)


# ------------------------------------------------------------------------------------ sending


def send(hostile: Hostile, family: str, body: Any = None, raw: bytes | None = None) -> Any:
    """POST as a single evaluation (or a batch when the body has evaluations); keep the decision ids."""
    count(family)
    batch = (isinstance(body, dict) and "evaluations" in body) or (raw is not None and raw.startswith(b'{"evaluations"'))
    path = "/access/v1/evaluations" if batch else "/access/v1/evaluation"
    r = hostile.send(path, body, raw=raw)
    if r.status_code == 200:
        doc = r.json()
        for item in doc.get("evaluations", [doc]):
            ANSWERED.add(item["context"]["decision_id"])
    return r


def rules(item: dict[str, Any]) -> list[str]:
    return sorted(r["rule"] for r in item["context"].get("reasons", []))


@pytest.fixture(scope="module")
def pool(baselines: list[Baseline]) -> list[Baseline]:
    return baselines


# ------------------------------------------------------------------------------------ no-ops


@FUZZ
@given(data=st.data())
def test_unknown_keys_change_nothing(hostile: Hostile, pool: list[Baseline], data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(pool), label="scenario")
    objects = [p for p in paths(base.request) if isinstance(get(base.request, p), dict)] + [()]
    where = data.draw(st.sampled_from(objects), label="object")
    value = data.draw(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                                st.lists(st.integers(), max_size=3)), label="value")
    target = get(base.request, where) if where else base.request
    mutated = put(base.request, where + (UNKNOWN,), value) if where else {**base.request, UNKNOWN: value}
    assert UNKNOWN not in target
    r = send(hostile, "no-op: unknown key", mutated)
    assert r.status_code == 200, f"{base.id}: unknown key at {dotted(where)} refused: {r.text[:400]}"
    assert r.json()["decision"] == base.decision, f"{base.id}: unknown key at {dotted(where)} changed the decision"


@FUZZ
@given(data=st.data())
def test_key_order_encoding_and_batch_of_one_change_nothing(hostile: Hostile, pool: list[Baseline],
                                                            data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(pool), label="scenario")
    how = data.draw(st.sampled_from(["reversed-keys", "ascii-escaped-pretty", "batch-of-one"]), label="how")
    first = send(hostile, "no-op: baseline", base.request)
    assert first.status_code == 200
    if how == "reversed-keys":
        r = send(hostile, "no-op: encoding", json.loads(json.dumps(base.request), object_pairs_hook=lambda kv: dict(
            reversed(kv))))
        item = r.json()
    elif how == "ascii-escaped-pretty":
        raw = json.dumps(base.request, ensure_ascii=True, indent=3).encode()
        r = send(hostile, "no-op: encoding", raw=raw.replace(b'"subject"', b'"\\u0073ubject"', 1))
        item = r.json()
    else:
        r = send(hostile, "no-op: encoding", {"evaluations": [base.request]})
        item = r.json()["evaluations"][0]
    assert r.status_code == 200, r.text[:400]
    assert item["decision"] == base.decision and rules(item) == rules(first.json()), f"{base.id} {how}"


# ------------------------------------------------------------------------------------ invalidating


def _other_type(value: Any) -> st.SearchStrategy[Any]:
    choices: list[Any] = [0, -1, 2**70, 1.5, float("1e308"), True, "x", "", [], {}, ["x"], {"x": 1}, [[]]]

    def same(a: Any, b: Any) -> bool:
        return type(a) is type(b) or (isinstance(a, (int, float)) and not isinstance(a, bool)
                                       and isinstance(b, (int, float)) and not isinstance(b, bool))
    return st.sampled_from([c for c in choices if not same(c, value)])


@FUZZ
@given(data=st.data())
def test_a_value_of_the_wrong_type_never_widens_access(hostile: Hostile, pool: list[Baseline],
                                                        data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(pool), label="scenario")
    where = data.draw(st.sampled_from(list(paths(base.request))), label="path")
    value = data.draw(_other_type(get(base.request, where)), label="value")
    r = send(hostile, "invalid: wrong type", put(base.request, where, value))
    check(r, base.decision)


@FUZZ
@given(data=st.data())
def test_deep_nesting_huge_strings_and_lists_never_widen_access(hostile: Hostile, pool: list[Baseline],
                                                                 data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(pool), label="scenario")
    where = data.draw(st.sampled_from(list(paths(base.request))), label="path")
    kind = data.draw(st.sampled_from(["nested-list", "nested-object", "huge-string", "huge-list"]), label="kind")
    depth = data.draw(st.integers(33, 400), label="depth")
    value: Any = get(base.request, where)
    if kind == "nested-list":
        for _ in range(depth):
            value = [value]
    elif kind == "nested-object":
        for _ in range(depth):
            value = {"a": value}
    elif kind == "huge-string":
        value = (str(value) if isinstance(value, str) else "x") * 1 + "é" * data.draw(st.integers(9000, 200_000))
    else:
        value = [value] * data.draw(st.integers(2000, 60_000), label="length")
    r = send(hostile, f"invalid: {kind}", put(base.request, where, value))
    check(r, base.decision)


@FUZZ
@given(data=st.data())
def test_a_far_or_impossible_date_never_widens_access(hostile: Hostile, pool: list[Baseline],
                                                       data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(pool), label="scenario")
    dates = [p for p in paths(base.request) if _key(p) in DATE_KEYS and isinstance(get(base.request, p), str)]
    where = data.draw(st.sampled_from(dates), label="path")
    value = data.draw(st.sampled_from(FAR_DATES), label="date")
    r = send(hostile, "invalid: far date", put(base.request, where, value))
    if _key(where) == "withdrawn_at":  # a withdrawal far in the future is a consent in force: meaning changes
        check(r, True)
    else:
        check(r, base.decision)


@FUZZ
@given(data=st.data())
def test_nul_and_control_characters_never_widen_access(hostile: Hostile, pool: list[Baseline],
                                                        data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(pool), label="scenario")
    texts = [p for p in paths(base.request) if isinstance(get(base.request, p), str)]
    where = data.draw(st.sampled_from(texts), label="path")
    bad = data.draw(st.sampled_from(["\x00", "\x1b[2J", "\u202e", "\r\n", "\x7f", "\ufeff"]), label="char")
    at_end = data.draw(st.booleans(), label="at end")
    old = get(base.request, where)
    r = send(hostile, "invalid: control char", put(base.request, where, old + bad if at_end else bad + old))
    check(r, base.decision)


@FUZZ
@given(data=st.data())
def test_a_duplicate_key_is_refused(hostile: Hostile, pool: list[Baseline], data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(pool), label="scenario")
    keyed = [p for p in paths(base.request) if isinstance(p[-1], str)]
    where = data.draw(st.sampled_from(keyed), label="path")
    value = get(base.request, where)
    other = data.draw(st.sampled_from([True, False, "ouder", "self", None, 0, value]), label="other")
    raw = _with_duplicate(base.request, where, other, data.draw(st.booleans(), label="original last"))
    r = send(hostile, "invalid: duplicate key", raw=raw)
    check(r, None)  # the same request twice is still ambiguous JSON: no allow for it


def _with_duplicate(tree: Any, where: Path_, other: Any, original_last: bool) -> bytes:
    marker = "__duplicate_marker__"
    placed = put(tree, where[:-1] + (marker,), None)
    parent = get(placed, where[:-1])
    key = where[-1]
    original = orjson.dumps(parent[key]).decode()
    extra = orjson.dumps(other).decode()
    pair = f'{json.dumps(key)}:{extra},{json.dumps(key)}:{original}' if original_last else \
        f'{json.dumps(key)}:{original},{json.dumps(key)}:{extra}'
    del parent[key]
    text = json.dumps(placed, separators=(",", ":"))
    return text.replace(f'"{marker}":null', pair, 1).encode()


REQUIRED = {("subject",), ("subject", "type"), ("subject", "id"), ("action",), ("action", "name"), ("resource",),
            ("resource", "type"), ("resource", "id"), ("resource", "properties"),
            ("resource", "properties", "client"), ("resource", "properties", "client", "birthdate"),
            ("resource", "properties", "client", "id"), ("resource", "properties", "dossier_type")}


@FUZZ
@given(data=st.data())
def test_removing_a_key_never_widens_access_unless_its_absence_has_a_meaning(
        hostile: Hostile, pool: list[Baseline], data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(pool), label="scenario")
    where = data.draw(st.sampled_from(list(paths(base.request))), label="path")
    r = send(hostile, "delete", delete(base.request, where))
    meaningful = _key(where) in ABSENCE_MEANS_SOMETHING or (isinstance(where[-1], int)
                                                            and _key(where) in RESTRICTING_LISTS)
    check(r, True if meaningful else base.decision)
    if where in REQUIRED:
        assert r.status_code == 400 or r.json()["decision"] is False, f"{base.id}: without {dotted(where)}: {r.text}"


# ------------------------------------------------------------------------------------ batches


@FUZZ
@given(data=st.data())
def test_a_batch_with_a_big_top_level_context_is_bounded(hostile: Hostile, pool: list[Baseline],
                                                          data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(pool), label="scenario")
    consents = data.draw(st.integers(0, 14_000), label="consents")
    items = data.draw(st.integers(1, 1000), label="items")
    ctx = dict(base.request["context"])
    ctx["consents"] = list(ctx.get("consents") or []) + [
        {"by": f"zz-{i}", "for": "zz-nobody", "scope": "dossier", "given_at": "2020-01-01"} for i in range(consents)]
    body = {k: v for k, v in base.request.items() if k != "context"} | {"context": ctx, "evaluations": [{}] * items}
    r = send(hostile, "batch: big context", body)
    check(r, [base.decision] * items)


def test_zz_the_decision_log_writer_survived_the_fuzz_run(hostile: Hostile) -> None:
    """Runs last in this file: a normal request is answered within 2 s with its record, and every
    decision answered during the run is in the log."""
    from service.conftest import yc_request

    hostile.still_answers(yc_request(subject_props={"identity_verified": True}))
    missing = ANSWERED - logged_ids(hostile.log_dir)
    assert ANSWERED and not missing, f"{len(missing)} of {len(ANSWERED)} answered decisions not in the log"
