"""Every error Poortwachter raises on purpose is a PoortwachterError: one root to catch, core and shell alike."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import poortwachter
from poortwachter.core.errors import PoortwachterError


def _own_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(poortwachter.__path__, "poortwachter."):
        if info.name.endswith("__main__"):  # runs the CLI when imported
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and not name.startswith("_")
                    and value.__module__ == info.name):
                found[f"{info.name}.{name}"] = value
    return found


def test_every_public_error_class_is_under_the_root() -> None:
    found = _own_exceptions()
    assert {"poortwachter.service.settings.SettingsError", "poortwachter.service.store.StoreConflict",
            "poortwachter.logbook.writer.LogUnavailable", "poortwachter.artifacts.artifact.ArtifactError",
            "poortwachter.logbook.pseudonym.PseudonymKeyError", "poortwachter.cli.common.Usage",
            "poortwachter.authoring.explore.TooLarge"} <= set(found)
    outside = sorted(n for n, cls in found.items() if not issubclass(cls, PoortwachterError))
    assert outside == []


def test_shell_errors_keep_their_builtin_bases() -> None:
    """Callers that catch ValueError (settings, pseudonym keys) still catch them."""
    from poortwachter.logbook.pseudonym import PseudonymKeyError
    from poortwachter.service.settings import SettingsError

    assert issubclass(SettingsError, ValueError) and issubclass(PseudonymKeyError, ValueError)
