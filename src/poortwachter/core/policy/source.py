"""Bundle sources as text, read into plain data with line numbers, safely.

The shell reads files; this module only turns text into data. YAML goes through a SafeLoader
subclass (no tags, no objects), duplicate keys are errors (PyYAML would silently keep the last),
and every mapping remembers the line it starts on so errors can name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import Diagnostic, Span

MAX_SOURCE_BYTES = 2_000_000  # one rule file; a bundle is prose-sized, anything larger is a mistake


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    text: str


class LineDict(dict[str, Any]):
    """A mapping that knows its source line."""

    line: int = 0


try:  # libyaml's parser (PyYAML's wheels carry it): the same safe constructor, about ten times faster
    from yaml import CSafeLoader as _SafeBase
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    from yaml import SafeLoader as _SafeBase  # type: ignore[assignment]


class _Loader(_SafeBase):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    result = LineDict({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    result.line = node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(source: SourceFile) -> tuple[Any, list[Diagnostic]]:
    """The data of a YAML file, or None and a diagnostic naming the line of the syntax error."""
    if len(source.text.encode()) > MAX_SOURCE_BYTES:
        return None, [Diagnostic("error", Span(source.path), f"file larger than {MAX_SOURCE_BYTES} bytes")]
    try:
        return yaml.load(source.text, Loader=_Loader), []  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [Diagnostic("error", Span(source.path, line), f"invalid YAML: {problem}")]


def line_of(data: Any) -> int:
    return getattr(data, "line", 0)


LINE_KEY = "__line__"


def to_plain(data: Any) -> Any:
    """JSON-safe data that keeps line numbers (``__line__``) and writes dates as ISO strings."""
    if isinstance(data, dict):
        plain = {str(k): to_plain(v) for k, v in data.items()}
        if line_of(data):
            plain[LINE_KEY] = line_of(data)
        return plain
    if isinstance(data, list):
        return [to_plain(x) for x in data]
    if hasattr(data, "isoformat"):
        return data.isoformat()
    return data


def from_plain(data: Any) -> Any:
    """The inverse of :func:`to_plain`: mappings become LineDicts again."""
    if isinstance(data, dict):
        result = LineDict({k: from_plain(v) for k, v in data.items() if k != LINE_KEY})
        result.line = int(data.get(LINE_KEY, 0))
        return result
    if isinstance(data, list):
        return [from_plain(x) for x in data]
    return data
