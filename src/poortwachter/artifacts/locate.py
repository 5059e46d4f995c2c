"""Finding a bundle a person names on the command line: a folder, an artifact file, or ``name[@version]``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..core.errors import unknown
from ..core.policy.model import Bundle
from .artifact import load
from .directory import load_directory
from .folder import identity, load_folder
from .keys import load_keyring


def resolve_bundle(spec: str, bundles_dir: Path | None, policies_dir: Path | None,
                   keys_dir: Path | None) -> tuple[Bundle, str]:
    """A bundle from a folder, an artifact file, or ``name[@version]`` (artifacts in ``bundles_dir``
    first, then the folders of ``policies_dir``). Returns the bundle and where it came from.

    KeyError when nothing matches; BundleInvalid / ArtifactError when what matches is not valid.
    """
    path = Path(spec)
    if path.is_dir():
        return load_folder(path)[0], str(path)
    if path.is_file():
        keyring = load_keyring(keys_dir) if keys_dir is not None else {}
        return load(path, keyring)[1].bundle, str(path)
    name, _, version = spec.partition("@")
    known: dict[str, set[str]] = {}
    if bundles_dir is not None and Path(bundles_dir).is_dir() and keys_dir is not None:
        catalog = load_directory(Path(bundles_dir), load_keyring(keys_dir)).catalog
        for n, versions in catalog.versions.items():
            known.setdefault(n, set()).update(b.bundle.version for b in versions)
        try:
            return catalog.select(name, date.max, version or None).bundle, f"{bundles_dir} (artifact)"
        except KeyError:
            pass
    if policies_dir is not None and Path(policies_dir).is_dir():
        found: list[tuple[tuple[int, ...], Path]] = []
        for folder in sorted(Path(policies_dir).iterdir()):
            if not (folder / "bundle.yaml").is_file():
                continue
            ident = identity(folder)
            if ident:
                known.setdefault(ident[0], set()).add(".".join(map(str, ident[1])))
            if ident and ident[0] == name and (not version or ident[1] == tuple(int(p) for p in version.split(".")
                                                                             if p.isdigit())):
                found.append((ident[1], folder))
        if found:
            folder = max(found)[1]
            return load_folder(folder)[0], str(folder)
    looked = [f"{d}/" for d in (bundles_dir, policies_dir) if d is not None and Path(d).is_dir()]
    where = f" in {' or '.join(looked)}" if looked else " (no --bundles or --policies folder here)"
    if name in known and version:
        raise KeyError(unknown(f"version of {name!r}", version, known[name], where))
    raise KeyError(unknown("bundle", name if version else spec, known, where + ", nor a folder or file of that name"))
