"""The client stays a leaf an EPD can install on its own, and knows every problem type the service sends."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from poortwachter.client import errors

SRC = Path(__file__).resolve().parents[2] / "src" / "poortwachter"


def _service_problem_kinds() -> set[str]:
    """Every problem type the service can send, read from its source (Problem(status, "kind", …) and
    the routing refusals), plus the ``<guard>-disabled`` answers of the required guards."""
    kinds: set[str] = set()
    for file in SRC.rglob("*.py"):
        if "client" in file.relative_to(SRC).parts:
            continue
        text = file.read_text(encoding="utf-8")
        kinds |= set(re.findall(r'Problem\(\s*(?:\d+|\d+ if \w+ else \d+),\s*"([a-z-]+)"', text))
        kinds |= set(re.findall(r'Refused\("([a-z-]+)"', text))
        kinds |= set(re.findall(r'\b[45]\d\d: "([a-z]+(?:-[a-z]+)+)"', text))  # {404: "not-found", …}
    guards = (SRC / "service" / "security.py").read_text()
    kinds |= {f"{what}-disabled" for what in re.findall(r'Guard\(\w+, "(\w+)", True\)', guards)}
    return kinds


def test_every_problem_type_of_the_service_has_its_exception() -> None:
    kinds = _service_problem_kinds()
    assert {"invalid-request", "duplicate-key", "dossier-type", "unknown-bundle", "admin-disabled",
            "history-disabled", "not-found", "decision-log-unavailable", "too-much-work"} <= kinds  # the scan works
    unknown = sorted(k for k in kinds if errors.problem_class(errors.PROBLEM_BASE + k) is errors.Problem)
    assert unknown == [], f"give these problem types a class in poortwachter/client/errors.py: {unknown}"


def test_each_problem_class_is_a_client_error_with_distinct_kinds() -> None:
    seen: dict[str, type[errors.Problem]] = {}
    for cls in errors.PROBLEM_CLASSES:
        assert issubclass(cls, errors.Problem) and issubclass(cls, errors.ClientError) and cls.kinds
        for kind in cls.kinds:
            assert kind not in seen, f"{kind} in {cls.__name__} and {seen[kind].__name__}"
            seen[kind] = cls
    assert errors.problem_class("https://example.org/other") is errors.Problem


def test_importing_the_client_loads_neither_the_service_nor_fastapi() -> None:
    code = ("import sys, poortwachter.client\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', 'uvicorn', 'pydantic')"
            " or m.split('.')[:2] in (['poortwachter', 'service'], ['poortwachter', 'core'], ['poortwachter', 'cli'])))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout
