"""Errors of the pure core, one tree per stage.

    PoortwachterError
     ├── RequestError            a decision request is malformed (HTTP 400): path, expected, got
     └── BundleError             a bundle cannot be used
          └── BundleInvalid      validation failed: carries every Diagnostic (file, line, rule id)

The shell's errors hang from the same root (tests/test_errors.py): ArtifactError (artifacts/artifact.py)
is a BundleError; SettingsError, StoreConflict, LogUnavailable, PseudonymKeyError and the HTTP Problem
are PoortwachterErrors.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


class PoortwachterError(Exception):
    """Base of every error Poortwachter raises on purpose."""


class RequestError(PoortwachterError):
    """A request field is missing, of the wrong type or has a value outside its closed set."""

    def __init__(self, path: str, expected: str, got: object = None, *, missing: bool = False,
                 shown: str | None = None) -> None:
        """``shown`` describes what came instead of showing it (e.g. ``300 items`` for a list too long)."""
        self.path = path
        self.expected = expected
        self.got = "nothing" if missing else shown if shown is not None else _show(got)
        super().__init__(f"{path}: expected {expected}, got {self.got}")


def _bounded_repr() -> reprlib.Repr:
    """A repr that stops early: a caller's 100,000-element list must not be rendered to show 80 characters."""
    r = reprlib.Repr()
    r.maxstring = r.maxother = r.maxlong = 200
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxset = 3, 12, 12, 8, 8
    return r


_REPR = _bounded_repr()


def _show(value: object) -> str:
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'nl-jgz'?"`` when ``name`` is a near miss of one of ``known`` (a typo), else ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown(what: str, name: str, known: Iterable[str], where: str = "") -> str:
    """The sentence for a name nothing answers to: ``no bundle named 'nl-jzg'; known: nl-jgz, …; did you mean …``."""
    names = sorted(set(known))
    return f"no {what} named {name!r}{where}; known: {', '.join(names) or 'none'}{did_you_mean(name, names)}"


@dataclass(frozen=True, slots=True)
class Span:
    """Where in a bundle source something was written (1-based line)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding of the validator, worded for a policy author."""

    severity: Literal["error", "warning"]
    span: Span
    message: str
    rule: str | None = None

    def __str__(self) -> str:
        where = f"{self.span}" + (f" [rule {self.rule}]" if self.rule else "")
        return f"{where}: {self.severity}: {self.message}"

    def sort_key(self) -> tuple[str, int, str]:
        return (self.span.file, self.span.line, self.message)


class BundleError(PoortwachterError):
    """A bundle (source or artifact) cannot be used."""


class BundleInvalid(BundleError):
    """Validation found errors; ``diagnostics`` holds all of them, sorted by file and line."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        super().__init__("\n".join(str(d) for d in errors) or "invalid bundle")
