"""The import direction of the layers (docs/architecture.md), enforced so a wrong-way import cannot return.

    core  ←  artifacts  ←  authoring, logbook  ←  service  ←  cli
      ↖ wire (the JSON shapes of answers) ↙

The core imports nothing of the shell; the service never imports the authoring tools; nothing but the
CLI imports the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "poortwachter"
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "wire": {"core"},
    "probe": set(),
    "artifacts": {"core"},
    "authoring": {"core", "artifacts"},
    "logbook": {"core", "artifacts"},
    "service": {"core", "artifacts", "logbook", "wire"},
    "cli": {"core", "artifacts", "authoring", "logbook", "service", "wire"},
}


def _layer(parts: tuple[str, ...]) -> str:
    """The layer of a module path inside the package: its first part, without .py."""
    return parts[0].removesuffix(".py") if parts else ""


def _imported_layers(source: str, here: tuple[str, ...]) -> set[str]:
    """Layers a module at ``here`` (its path parts inside the package) imports, resolving relative imports."""
    package = here[:-1]  # the package the module lives in
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = (*base, *(node.module.split(".") if node.module else ()))
                if not target:  # `from .. import wire`: the names are the modules
                    found.update(alias.name for alias in node.names)
                else:
                    found.add(target[0])
            elif node.module and node.module.split(".")[0] == "poortwachter":
                found.add(_layer(tuple(node.module.split(".")[1:])))
        elif isinstance(node, ast.Import):
            found.update(_layer(tuple(a.name.split(".")[1:])) for a in node.names if a.name.startswith("poortwachter."))
    return found


def test_every_module_belongs_to_a_known_layer() -> None:
    layers = {_layer(f.relative_to(PACKAGE).parts) for f in PACKAGE.rglob("*.py")} - {"__init__"}
    assert layers <= set(ALLOWED), f"new top-level module(s) {layers - set(ALLOWED)}: give them a layer here"


def test_imports_go_one_way() -> None:
    wrong = []
    for file in sorted(PACKAGE.rglob("*.py")):
        layer = _layer(file.relative_to(PACKAGE).parts)
        if layer == "__init__":
            continue
        here = file.relative_to(PACKAGE).with_suffix("").parts
        for target in _imported_layers(file.read_text(encoding="utf-8"), here) - {layer} - {""}:
            if target not in ALLOWED[layer]:
                wrong.append(f"{file.relative_to(PACKAGE)} imports {target}")
    assert not wrong, "wrong-way imports:\n" + "\n".join(wrong)


def test_the_check_sees_wrong_way_imports() -> None:
    """The test above can fail: each form of import is resolved to its layer."""
    assert _imported_layers("from ..service import decider\n", ("core", "x")) == {"service"}
    assert _imported_layers("from ...authoring.diff import f\n", ("core", "policy", "x")) == {"authoring"}
    assert _imported_layers("from .. import wire\n", ("service", "x")) == {"wire"}
    assert _imported_layers("import poortwachter.cli\n", ("core", "x")) == {"cli"}
    assert _imported_layers("from .facts import F\n", ("core", "x")) == {"core"}
