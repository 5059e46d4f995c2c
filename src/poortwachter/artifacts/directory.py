"""A folder of artifacts → a Catalog, refusing (and reporting) every artifact that fails."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.catalog import Catalog
from ..core.policy.compile import CompiledBundle
from .artifact import SUFFIX, ArtifactError, Manifest, load
from .keys import Keyring


@dataclass(frozen=True)
class LoadResult:
    catalog: Catalog
    manifests: dict[str, Manifest]  # by name@version
    errors: dict[str, str]  # file → why it was refused


def load_directory(folder: Path, keyring: Keyring) -> LoadResult:
    compiled: list[CompiledBundle] = []
    manifests: dict[str, Manifest] = {}
    errors: dict[str, str] = {}
    for path in sorted(Path(folder).glob(f"*{SUFFIX}")):
        try:
            manifest, bundle = load(path, keyring)
        except (ArtifactError, OSError) as exc:
            errors[path.name] = str(exc)
            continue
        key = bundle.bundle.key
        if key in manifests:
            errors[path.name] = f"{key} is already loaded from another file"
            continue
        manifests[key] = manifest
        compiled.append(bundle)
    return LoadResult(Catalog.of(compiled), manifests, errors)
