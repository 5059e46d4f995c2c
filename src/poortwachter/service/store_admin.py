"""The bundle store's admin actions: reload on request, roll back, activate (holds), shadow candidates.

Each runs under the store's lock and changes the state shared by the workers (service/bundle_state.py);
every worker follows through its reload. A shadow candidate (service/shadow.py): ``start_shadow`` resolves a
version, revision or artifact file to a verified, compiled artifact, archives it and records ``name →
revision`` in the state; every reload re-reads that record into ``store.shadows`` and tells the
``shadow_listeners``. A candidate never enters the snapshot: it cannot decide anything. Functions of the store (service/store.py delegates to them), kept
apart so the loading rules read on their own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..artifacts.artifact import SUFFIX, ArtifactError, load_bytes
from .bundle_state import Hold
from .store_model import Loaded, LoadReport, Shadowing, StoreConflict

if TYPE_CHECKING:
    from .store import BundleStore

log = logging.getLogger("poortwachter.store")

__all__ = ["activate", "follow_shadows", "request_reload", "rollback", "start_shadow", "stop_shadow"]


def request_reload(store: BundleStore) -> LoadReport:
    """Admin reload: reload here and tell the other workers (reload stamp in the state folder)."""
    report = store.reload()
    store._state.stamp()
    return report


def _hold(store: BundleStore, name: str, revisions: tuple[str, ...], reason: str) -> LoadReport:
    with store._state.locked():
        holds = store._state.read_holds()
        holds[name] = Hold(revisions, store.disk.get(name, ()), reason, store._now().isoformat())
        store._state.write_holds(holds)
    return store._reload()


def rollback(store: BundleStore, name: str) -> LoadReport:
    """Back to the revisions that were active for ``name`` before the last change."""
    with store._lock:
        current = tuple(x.revision for x in store.snapshot.active.get(name, ()))
        stack = store.history.get(name, [])
        while stack and stack[-1] == current:
            stack.pop()
        if not stack:
            raise StoreConflict(f"bundle {name!r} has no earlier active state to roll back to")
        target = stack.pop()
        missing = [r for r in target if store._from_archive(r) is None]
        if missing:
            raise StoreConflict(f"earlier revisions of {name!r} are no longer available: {', '.join(missing)}")
        report = _hold(store, name, target, "rollback")
        # the rollback itself must not become the state a next rollback returns to
        stack = store.history.get(name, [])
        if stack and stack[-1] == current:
            stack.pop()
        return report


def activate(store: BundleStore, name: str, version: str | None = None, revision: str | None = None) -> LoadReport:
    """Make one known revision active for its version (held), or, with neither argument,
    release the hold so the folder decides again."""
    with store._lock:
        if version is None and revision is None:
            with store._state.locked():
                holds = store._state.read_holds()
                if name not in holds and name not in store.snapshot.active:
                    raise KeyError(name)
                holds.pop(name, None)
                store._state.write_holds(holds)
            return store._reload()
        candidates = [x for x in store.known.values() if x.name == name
                      and (revision is None or x.revision == revision)
                      and (version is None or x.manifest.version == version)]
        if revision is not None and not candidates and (archived := store._from_archive(revision)):
            candidates = [archived] if archived.name == name else []
        if not candidates:
            wanted = " ".join(p for p in (version and f"version {version}", revision and f"revision {revision}") if p)
            raise StoreConflict(f"bundle {name!r} has no known {wanted}")
        target = max(candidates, key=lambda x: x.loaded_at)
        store.known[target.revision] = target
        current = [x for x in store.snapshot.active.get(name, ())
                   if x.manifest.version != target.manifest.version]
        revisions = tuple(x.revision for x in [*current, target])
        return _hold(store, name, revisions, f"activate {target.manifest.version} {target.revision}")


def follow_shadows(store: BundleStore) -> None:
    """``store.shadows`` from the state (another worker may have changed it); listeners hear of changes."""
    found: dict[str, Shadowing] = {}
    for name, (revision, since) in store._state.read_shadows().items():
        current = store.shadows.get(name)
        if current is not None and current.key == (name, revision, since) and store._trusts(current.candidate):
            found[name] = current
            continue
        loaded = store._from_archive(revision)
        if loaded is None or loaded.name != name:
            log.error("shadow candidate %s of %s is not available here; not shadowing it", revision, name)
            continue
        found[name] = Shadowing(name, loaded, since)
    if {n: s.key for n, s in found.items()} != {n: s.key for n, s in store.shadows.items()}:
        store.shadows = found
        for listener in store.shadow_listeners:
            listener(found)


def _candidate(store: BundleStore, name: str, version: str | None, revision: str | None, file: str | None) -> Loaded:
    if file is not None:
        return _candidate_file(store, name, file)
    found = [x for x in store.known.values() if x.name == name
             and (revision is None or x.revision == revision)
             and (version is None or x.manifest.version == version)]
    if not found and version is not None and revision is None:  # a folder artifact not active (held)
        found = [Loaded(m, c, "bundle folder", store._now(), k) for m, c, k in store._verified.values()
                 if m.name == name and m.version == version]
    if not found and revision is not None and (archived := store._from_archive(revision)):
        found = [archived] if archived.name == name else []
    if not found:
        wanted = " ".join(p for p in (version and f"version {version}", revision and f"revision {revision}") if p)
        raise StoreConflict(f"bundle {name!r} has no known {wanted}")
    return max(found, key=lambda x: x.loaded_at)


def _candidate_file(store: BundleStore, name: str, file: str) -> Loaded:
    """An artifact file inside the bundle folder, e.g. ``candidates/x.bundle.json`` (a subfolder is not
    loaded by reloads): verified like every artifact."""
    root = store.folder.resolve()
    path = (store.folder / file).resolve()
    if not path.is_relative_to(root) or not path.name.endswith(SUFFIX):
        raise StoreConflict(f"{file!r} is not a {SUFFIX} file inside the bundle folder")
    try:
        raw = path.read_bytes()
        manifest, compiled = load_bytes(raw, store.keyring, file)
    except OSError as exc:
        raise StoreConflict(f"cannot read {file!r}: {exc.strerror or exc}") from None
    except ArtifactError as exc:
        raise StoreConflict(f"{file!r} refused: {exc}") from None
    if manifest.name != name:
        raise StoreConflict(f"{file!r} holds bundle {manifest.name!r}, not {name!r}")
    store._state.put(manifest.revision, raw)  # other workers (and restarts) load it from the archive
    return Loaded(manifest, compiled, file, store._now(), store._trusted[manifest.key_id])


def start_shadow(store: BundleStore, name: str, version: str | None = None, revision: str | None = None,
                 file: str | None = None) -> Shadowing:
    """Evaluate a candidate beside ``name`` from now on (replacing an earlier one); StoreConflict
    when it cannot be found or verified. Every worker follows through the state."""
    with store._lock:
        candidate = _candidate(store, name, version, revision, file)
        store.known.setdefault(candidate.revision, candidate)
        shadows = store._state.read_shadows()
        shadows[name] = (candidate.revision, store._now().isoformat())
        store._state.write_shadows(shadows)
        follow_shadows(store)
        if name not in store.shadows:
            raise StoreConflict(f"candidate {candidate.revision} of {name!r} could not be archived")
        return store.shadows[name]


def stop_shadow(store: BundleStore, name: str) -> None:
    """Stop shadowing ``name`` (in every worker); KeyError when no candidate is shadowed."""
    with store._lock:
        shadows = store._state.read_shadows()
        if name not in shadows and name not in store.shadows:
            raise KeyError(name)
        shadows.pop(name, None)
        store._state.write_shadows(shadows)
        follow_shadows(store)
