"""The optional search inventory: entities the AuthZEN search endpoints search among.

Poortwachter is stateless: it knows no dossiers, persons or records. A search request can bring its
candidates (the ``candidates`` extension); without them the PDP searches this inventory, a small
YAML/JSON file the operator configures (``search_inventory``). The AuthZEN certification fixture
(alice, bob, record-1, record-2) is such an inventory.

    subjects:  [{type: user, id: alice}, {type: user, id: bob, properties: {role: admin}}]
    resources: [{type: record, id: record-1, properties: {status: active}}]
    actions:   [{name: read}, {name: write}]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from .settings import SettingsError

KINDS = ("subjects", "resources", "actions")


@dataclass(frozen=True)
class Inventory:
    subjects: tuple[dict[str, Any], ...] = ()
    resources: tuple[dict[str, Any], ...] = ()
    actions: tuple[dict[str, Any], ...] = ()
    source: str | None = field(default=None)

    @classmethod
    def load(cls, path: Path | None) -> Inventory:
        if path is None:
            return cls()
        try:
            raw = path.read_bytes()
            data = orjson.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
        except (OSError, orjson.JSONDecodeError, yaml.YAMLError) as exc:
            raise SettingsError(f"search inventory {path}: {exc}") from None
        if not isinstance(data, dict) or set(data) - set(KINDS):
            raise SettingsError(f"search inventory {path}: expected a mapping with keys {', '.join(KINDS)}")
        parts: dict[str, tuple[dict[str, Any], ...]] = {}
        for kind in KINDS:
            items = data.get(kind) or []
            key = "name" if kind == "actions" else "id"
            if not isinstance(items, list) or not all(
                    isinstance(x, dict) and isinstance(x.get(key), str) and (kind == "actions" or isinstance(x.get("type"), str))
                    and isinstance(x.get("properties", {}), dict) for x in items):
                raise SettingsError(f"search inventory {path}: {kind} must be a list of "
                                    f"{{{'name' if kind == 'actions' else 'type, id'}, properties?}} objects")
            parts[kind] = tuple(items)
        return cls(parts["subjects"], parts["resources"], parts["actions"], str(path))

    def of(self, kind: str, entity_type: str | None = None) -> list[dict[str, Any]]:
        items: tuple[dict[str, Any], ...] = getattr(self, kind)
        return [x for x in items if entity_type is None or x.get("type") == entity_type]
