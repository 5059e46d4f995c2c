"""Diagnostics of one bundle, collected: the parser reports every problem, never only the first."""

from __future__ import annotations

from ..errors import Diagnostic, Span


class Report:
    """Collects diagnostics for one bundle."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, file: str, line: int, message: str, rule: str | None = None) -> None:
        self.items.append(Diagnostic("error", Span(file, line), message, rule))

    def warn(self, file: str, line: int, message: str, rule: str | None = None) -> None:
        self.items.append(Diagnostic("warning", Span(file, line), message, rule))

    @property
    def failed(self) -> bool:
        return any(d.severity == "error" for d in self.items)
