"""Policy folders on disk → bundle content (see core.policy.content), with overlays resolved.

An overlay names its base by bundle name; the base is looked up among the sibling folders of the
overlay (the newest version of that name), so `policies/duo-plus-diemen` finds `policies/nl-jeugdhulp`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.errors import BundleInvalid, Diagnostic, Span
from ..core.policy.content import bundle_from_content
from ..core.policy.manifest import SEMVER
from ..core.policy.model import Bundle
from ..core.policy.source import SourceFile, load_yaml

MANIFEST = "bundle.yaml"


def display_path(path: Path) -> str:
    """Paths relative to the working directory where possible: what an author clicks on."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _read(path: Path) -> SourceFile:
    return SourceFile(display_path(path), path.read_text(encoding="utf-8"))


def _load(path: Path, problems: list[Diagnostic]) -> Any:
    data, found = load_yaml(_read(path))
    problems.extend(found)
    return data


def identity(folder: Path) -> tuple[str, tuple[int, ...]] | None:
    """(name, version parts) read from a folder's manifest without validating the bundle."""
    data, _ = load_yaml(_read(folder / MANIFEST))
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    version = str(data.get("version", ""))
    return data["name"], tuple(int(p) for p in version.split(".")) if SEMVER.match(version) else ()


def find_base(folder: Path, name: str) -> Path:
    """The sibling folder holding the newest version of bundle ``name``."""
    candidates = []
    for sibling in sorted(folder.resolve().parent.iterdir()):
        if sibling.resolve() != folder.resolve() and (sibling / MANIFEST).is_file():
            ident = identity(sibling)
            if ident and ident[0] == name:
                candidates.append((ident[1], sibling))
    if not candidates:
        raise KeyError(f"no folder beside {display_path(folder)} holds bundle {name!r}")
    return max(candidates)[1]


def _collect(folder: Path, depth: int = 0) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The content of a policy folder and the problems reading it (a file that is not valid YAML
    is left in as ``None``, so the rest can still be validated)."""
    folder = Path(folder)
    problems: list[Diagnostic] = []
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BundleInvalid([Diagnostic("error", Span(display_path(manifest_path)), "no bundle.yaml in this folder")])
    manifest = _load(manifest_path, problems)
    rules = [[display_path(p), _load(p, problems)] for p in sorted((folder / "rules").glob("*.yaml"))]
    if not rules:
        problems.append(Diagnostic("error", Span(display_path(folder / "rules")), "no rules/*.yaml files"))
    base = None
    extends = manifest.get("extends") if isinstance(manifest, dict) else None
    if isinstance(extends, str) and depth < 4:
        try:
            base, base_problems = _collect(find_base(folder, extends), depth + 1)
            problems.extend(base_problems)
        except KeyError as exc:
            problems.append(Diagnostic("error", Span(display_path(manifest_path), 1), str(exc.args[0])))
    content = {"root": folder.name, "manifest": [display_path(manifest_path), manifest], "rules": rules, "base": base}
    return content, problems


def read_content(folder: Path, _depth: int = 0) -> dict[str, Any]:
    """The bundle content of a policy folder; BundleInvalid for unreadable or malformed files."""
    content, problems = _collect(folder, _depth)
    if problems:
        raise BundleInvalid(problems)
    return content


def load_folder(folder: Path) -> tuple[Bundle, list[Diagnostic], dict[str, Any]]:
    """Validated bundle, its warnings and its content (for building an artifact).

    A file that is not valid YAML does not stop validation of the others: BundleInvalid carries
    every error of the folder at once.
    """
    content, problems = _collect(folder)
    if problems:
        if isinstance(content["manifest"][1], dict):
            try:
                bundle_from_content(content)
            except BundleInvalid as exc:
                problems.extend(exc.diagnostics)
        raise BundleInvalid(problems)
    bundle, warnings = bundle_from_content(content)
    return bundle, warnings, content


def scenario_files(folder: Path) -> list[tuple[str, Any]]:
    """(file, data) of every tests/*.yaml scenario suite."""
    problems: list[Diagnostic] = []
    found = [(display_path(p), _load(p, problems)) for p in sorted((Path(folder) / "tests").glob("*.yaml"))]
    if problems:
        raise BundleInvalid(problems)
    return found
