"""The import direction of the layers (docs/architecture.md), enforced so a wrong-way import cannot return.

    core  ←  artifacts  ←  authoring, logbook  ←  service  ←  cli

    client (the HTTP client for dossier systems): a leaf that imports no other layer

The core imports nothing of the shell; the service never imports the authoring tools; nothing but the
CLI imports the CLI. Inside the core, the bundle language (core/policy) imports nothing of request
parsing, routing or fact derivation: it owns its value types (core/policy/values.py).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "poortwachter"
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "probe": set(),
    "artifacts": {"core"},
    "authoring": {"core", "artifacts"},
    "logbook": {"core", "artifacts"},
    "service": {"core", "artifacts", "logbook"},
    "cli": {"core", "artifacts", "authoring", "logbook", "service"},
    "client": set(),
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
                if not target:  # `from .. import cli`: the names are the modules
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
    assert _imported_layers("from .. import cli\n", ("service", "x")) == {"cli"}
    assert _imported_layers("import poortwachter.cli\n", ("core", "x")) == {"cli"}
    assert _imported_layers("from .facts import F\n", ("core", "x")) == {"core"}


# the bundle language inside the core: what core/policy may use of the rest of the core
LANGUAGE_MAY_USE = {"errors", "verdict", "vocabulary", "policy"}


def _imported_core_modules(source: str, here: tuple[str, ...]) -> set[str]:
    """The core modules (their name right under core/) a module at ``here`` imports."""
    package = here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        targets: list[tuple[str, ...]] = []
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            target = (*base, *(node.module.split(".") if node.module else ()))
            targets = [target] if node.module else [(*target, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("poortwachter."):
            targets = [tuple(node.module.split(".")[1:])]
        elif isinstance(node, ast.Import):
            targets = [tuple(a.name.split(".")[1:]) for a in node.names if a.name.startswith("poortwachter.")]
        found.update(t[1] for t in targets if len(t) > 1 and t[0] == "core")
    return found


def test_the_bundle_language_does_not_depend_on_request_parsing() -> None:
    wrong = []
    for file in sorted((PACKAGE / "core" / "policy").rglob("*.py")):
        here = file.relative_to(PACKAGE).with_suffix("").parts
        used = _imported_core_modules(file.read_text(encoding="utf-8"), here) - LANGUAGE_MAY_USE
        wrong += [f"{file.relative_to(PACKAGE)} imports core.{m}" for m in sorted(used)]
    assert not wrong, "the bundle language reaches into the request side:\n" + "\n".join(wrong)


def test_the_language_check_sees_a_wrong_import() -> None:
    here = ("core", "policy", "model")
    assert _imported_core_modules("from ..facts import FactValue\n", here) == {"facts"}
    assert _imported_core_modules("from .. import request\n", here) == {"request"}
    assert _imported_core_modules("from .values import FactValue\n", here) == {"policy"}
    assert _imported_core_modules("from poortwachter.core.request import Envelope\n", here) == {"request"}
    assert _imported_core_modules("import poortwachter.core.facts\n", here) == {"facts"}


def test_only_the_commands_that_talk_to_the_central_store_import_its_driver() -> None:
    """Every process of ``serve`` (parent and workers) and every CLI command imported psycopg although only a
    service that ships its journal, or ``poortwachter log --dsn | migrate | ship | retention``, talks to the
    store: ~0.1–0.2 s of start-up per process, paid at each worker (re)start too."""
    code = ("import sys, poortwachter.cli, poortwachter.service.main, poortwachter.service.app; "
            "print('psycopg' in sys.modules, 'poortwachter.logbook.central.ship' in sys.modules); "
            "from poortwachter.logbook.central import Shipper; print('psycopg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "False", "True"], out.stdout + out.stderr
