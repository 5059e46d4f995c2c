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
    assert {"poortwachter.service.settings.SettingsError", "poortwachter.service.store_model.StoreConflict",
            "poortwachter.logbook.terms.LogUnavailable", "poortwachter.artifacts.artifact.ArtifactError",
            "poortwachter.logbook.pseudonym.PseudonymKeyError", "poortwachter.cli.common.Usage",
            "poortwachter.authoring.programs.TooLarge",
            "poortwachter.artifacts.remote.client.RemoteError", "poortwachter.service.source.SetNotActivated"} <= set(found)
    # the client is a leaf for the EPD's code: it imports nothing of Poortwachter, so its root is ClientError
    outside = sorted(n for n, cls in found.items()
                     if not issubclass(cls, PoortwachterError) and not n.startswith("poortwachter.client."))
    assert outside == []


def test_shell_errors_keep_their_builtin_bases() -> None:
    """Callers that catch ValueError (settings, pseudonym keys) still catch them."""
    from poortwachter.logbook.pseudonym import PseudonymKeyError
    from poortwachter.service.settings import SettingsError

    assert issubclass(SettingsError, ValueError) and issubclass(PseudonymKeyError, ValueError)


def test_the_client_has_one_root_of_its_own() -> None:
    from poortwachter.client.errors import ClientError

    client = {n: c for n, c in _own_exceptions().items() if n.startswith("poortwachter.client.")}
    assert client and all(issubclass(c, ClientError) for c in client.values())
