"""The curated public surface is what it says: each package's ``__all__`` resolves and, where the package
imports its names eagerly, holds every public name it has; every module with an ``__all__`` lists each
public class and function it defines. And the package ships its types (py.typed, PEP 561)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import tomllib
import types
from pathlib import Path

import pytest

import poortwachter

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("poortwachter.core", "poortwachter.artifacts", "poortwachter.logbook", "poortwachter.service",
            "poortwachter.client")
EAGER = ("poortwachter.core", "poortwachter.artifacts", "poortwachter.logbook", "poortwachter.client")  # service loads on first use


def _modules() -> list[types.ModuleType]:
    names = [i.name for i in pkgutil.walk_packages(poortwachter.__path__, "poortwachter.")
             if not i.name.endswith("__main__")]  # runs the CLI when imported
    return [importlib.import_module(n) for n in names]


@pytest.mark.parametrize("name", PACKAGES)
def test_a_package_surface_resolves(name: str) -> None:
    package = importlib.import_module(name)
    surface = package.__all__
    assert surface and len(set(surface)) == len(surface), surface
    for item in surface:
        assert not item.startswith("_") and getattr(package, item) is not None, item


@pytest.mark.parametrize("name", EAGER)
def test_an_eager_package_has_no_public_name_beyond_its_surface(name: str) -> None:
    package = importlib.import_module(name)
    public = {n for n, v in vars(package).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"}
    assert public == set(package.__all__)


@pytest.mark.parametrize("name", PACKAGES)
def test_a_package_name_never_hides_a_module(name: str) -> None:
    """``from poortwachter.core import decide`` must not turn the module ``core.decide`` into a function."""
    package = importlib.import_module(name)
    hidden = [n for n in package.__all__ if importlib.util.find_spec(f"{name}.{n}") is not None]
    assert hidden == []


def test_every_declared_module_surface_names_all_it_defines() -> None:
    declared = [m for m in _modules() if hasattr(m, "__all__")]
    assert {"poortwachter.service.decision_log", "poortwachter.service.log_sinks", "poortwachter.service.settings",
            "poortwachter.service.store"} <= {m.__name__ for m in declared}
    problems = []
    for module in declared:
        missing_names = [n for n in module.__all__ if not hasattr(module, n)]
        defined = {n for n, v in vars(module).items()
                   if not n.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v))
                   and v.__module__ == module.__name__}
        unlisted = sorted(defined - set(module.__all__))
        if missing_names or unlisted:
            problems.append(f"{module.__name__}: listed but missing {missing_names}, defined but unlisted {unlisted}")
    assert problems == []


def test_the_package_ships_its_types() -> None:
    assert (Path(poortwachter.__file__).parent / "py.typed").is_file()
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["src/poortwachter"]  # hatch ships every file of the package, py.typed too
