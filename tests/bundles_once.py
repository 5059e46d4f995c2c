"""Bundle folders loaded and compiled once per test process, for suites that only read them.

Import it as ``bundles_once`` (tests/ is on sys.path because tests/conftest.py sits there). The bundle
suites build ``sibling_catalog`` for every folder of policies/, and each of those catalogs holds every
bundle there: loading and compiling all of them again per folder cost ~2 s of each test's ~2.5 s (issue
14). :func:`sibling_catalog` runs the CLI's own function, with its loads and compiles served from here; the
property and bench suites take their compiled bundles from here too (each module compiled all of them at
import, in every xdist worker). A compiled bundle only fills its own caches as it decides, as in the service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from poortwachter.artifacts.folder import load_folder
from poortwachter.cli import common
from poortwachter.core.catalog import Catalog
from poortwachter.core.policy.compile import CompiledBundle, compile_bundle
from poortwachter.core.policy.model import Bundle

_LOADED: dict[Path, tuple[Bundle, list[Any], dict[str, Any]]] = {}
_COMPILED: dict[tuple[int, str], tuple[Bundle, CompiledBundle]] = {}


def load(folder: Path) -> tuple[Bundle, list[Any], dict[str, Any]]:
    """``load_folder(folder)``, read once per process (a folder that does not validate raises every time).
    Callers read the result and never change it; the folders do not change during a run."""
    key = folder.resolve()
    if key not in _LOADED:
        _LOADED[key] = load_folder(folder)
    return _LOADED[key]


def compiled(bundle: Bundle, revision: str) -> CompiledBundle:
    """``compile_bundle(bundle, revision)``, once per bundle object (kept alive here, so its id stays its own)."""
    key = (id(bundle), revision)
    if key not in _COMPILED:
        _COMPILED[key] = (bundle, compile_bundle(bundle, revision))
    return _COMPILED[key][1]


def sibling_catalog(folder: Path, own: Bundle) -> Catalog:
    """:func:`poortwachter.cli.common.sibling_catalog` as ``poortwachter test`` builds it, its folders loaded
    and bundles compiled through :func:`load` and :func:`compiled`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common, "load_folder", load)
        patch.setattr(common, "compile_bundle", compiled)
        return common.sibling_catalog(folder, own)
