"""The bundle store: verified, compiled bundles behind one atomically swapped snapshot.

Requests read ``store.snapshot`` once (a plain attribute read) and decide with that immutable
Catalog, so a reload never changes the rules under a request. Reloading happens off the request
path (a worker thread): every artifact in the folder is verified (signature, hash), validated and
compiled first; only then is the new snapshot swapped in. What a reload may and may not do:

- a file that fails verification or validation is refused and reported (log, ``/v1/bundles``); if
  it held a version that was active, that version stays active from memory: a bad or unsigned
  bundle never replaces a good one;
- a folder that yields no valid bundle at all never empties a working store;
- an admin ``rollback`` or ``activate`` *holds* a name at chosen revisions until a new artifact for
  that name arrives in the folder (a fix), or an ``activate`` without arguments releases it.

With several uvicorn workers each process has its own store; admin changes go through a shared
state folder (holds.json, shadow.json, an archive of every artifact loaded, a reload stamp) that every
worker watches, so all workers converge on the same active set and the same shadow candidates.

Shadow evaluation (service/shadow.py) names its candidates here too: ``start_shadow`` resolves a
version, revision or artifact file to a verified, compiled artifact, archives it and records
``name → revision`` in the state; every reload re-reads that record into ``store.shadows`` and tells
the ``shadow_listeners``. A candidate never enters the snapshot: it cannot decide anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from ..artifacts.artifact import SUFFIX, ArtifactError, Manifest, load_bytes
from ..artifacts.keys import Keyring
from ..core.catalog import Catalog
from ..core.policy.compile import CompiledBundle
from . import metrics

log = logging.getLogger("poortwachter.store")

HOLDS_FILE = "holds.json"
SHADOW_FILE = "shadow.json"
RELOAD_STAMP = "reload-stamp"
ARCHIVE = "archive"
MAX_KNOWN_PER_NAME = 20


@dataclass(frozen=True)
class Loaded:
    """One verified, compiled artifact and where it came from."""

    manifest: Manifest
    compiled: CompiledBundle
    file: str
    loaded_at: datetime

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def revision(self) -> str:
        return self.manifest.revision


@dataclass(frozen=True)
class Snapshot:
    """What requests decide with: immutable, replaced as a whole."""

    catalog: Catalog
    active: dict[str, tuple[Loaded, ...]]
    generation: int
    loaded_at: datetime


@dataclass(frozen=True)
class Hold:
    """A name pinned to ``revisions`` while the folder still offers ``disk`` for it."""

    revisions: tuple[str, ...]
    disk: tuple[str, ...]
    reason: str
    at: str


@dataclass(frozen=True)
class Shadowing:
    """A candidate artifact evaluated beside the active versions of ``name`` (since ``since``)."""

    name: str
    candidate: Loaded
    since: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.name, self.candidate.revision, self.since)


class StoreConflict(Exception):
    """An admin request that cannot be carried out (unknown version, nothing to roll back to)."""


class _MemoryState:
    """Admin state of a single-process store."""

    def __init__(self) -> None:
        self.holds: dict[str, Hold] = {}
        self.shadows: dict[str, tuple[str, str]] = {}
        self.archive: dict[str, bytes] = {}

    def read_holds(self) -> dict[str, Hold]:
        return dict(self.holds)

    def write_holds(self, holds: dict[str, Hold]) -> None:
        self.holds = dict(holds)

    def read_shadows(self) -> dict[str, tuple[str, str]]:
        return dict(self.shadows)

    def write_shadows(self, shadows: dict[str, tuple[str, str]]) -> None:
        self.shadows = dict(shadows)

    def put(self, revision: str, raw: bytes) -> None:
        self.archive.setdefault(revision, raw)

    def get(self, revision: str) -> bytes | None:
        return self.archive.get(revision)

    def stamp(self) -> None:
        pass


class _FolderState:
    """Admin state shared by worker processes through a folder (atomic renames, no locks needed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / ARCHIVE).mkdir(parents=True, exist_ok=True)

    def _write(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def read_holds(self) -> dict[str, Hold]:
        try:
            data = orjson.loads((self.folder / HOLDS_FILE).read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError) as exc:
            log.error("state %s unreadable, ignoring holds: %s", self.folder / HOLDS_FILE, exc)
            return {}
        return {n: Hold(tuple(h["revisions"]), tuple(h["disk"]), h["reason"], h["at"]) for n, h in data.items()}

    def write_holds(self, holds: dict[str, Hold]) -> None:
        self._write(self.folder / HOLDS_FILE, orjson.dumps(
            {n: {"revisions": h.revisions, "disk": h.disk, "reason": h.reason, "at": h.at} for n, h in holds.items()}))

    def read_shadows(self) -> dict[str, tuple[str, str]]:
        """name → (candidate revision, since)."""
        try:
            data = orjson.loads((self.folder / SHADOW_FILE).read_bytes())
            return {n: (str(s["revision"]), str(s["since"])) for n, s in data.items()}
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError) as exc:
            log.error("state %s unreadable, no shadow evaluation: %s", self.folder / SHADOW_FILE, exc)
            return {}

    def write_shadows(self, shadows: dict[str, tuple[str, str]]) -> None:
        self._write(self.folder / SHADOW_FILE, orjson.dumps(
            {n: {"revision": r, "since": since} for n, (r, since) in shadows.items()}))

    def _archived(self, revision: str) -> Path:
        return self.folder / ARCHIVE / (revision.replace(":", "-") + SUFFIX)

    def put(self, revision: str, raw: bytes) -> None:
        path = self._archived(revision)
        if not path.exists():
            self._write(path, raw)

    def get(self, revision: str) -> bytes | None:
        try:
            return self._archived(revision).read_bytes()
        except OSError:
            return None

    def stamp(self) -> None:
        self._write(self.folder / RELOAD_STAMP, datetime.now(UTC).isoformat().encode())


@dataclass
class LoadReport:
    """What one reload did: for the admin answer and the log."""

    generation: int
    changed: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"generation": self.generation, "changed": self.changed, "refused": self.refused, "kept": self.kept}


class BundleStore:
    """Loads a folder of artifacts into snapshots; see the module docstring for the rules."""

    def __init__(self, folder: Path, keyring: Keyring, state_dir: Path | None = None,
                 default_bundle: str | None = None) -> None:
        self.folder = Path(folder)
        self.keyring = keyring
        self.default_bundle = default_bundle
        self._state: _MemoryState | _FolderState = _FolderState(state_dir) if state_dir else _MemoryState()
        self._lock = threading.Lock()
        self.snapshot = Snapshot(Catalog(), {}, 0, datetime.now(UTC))
        self.known: dict[str, Loaded] = {}  # by revision: everything loaded and still remembered
        self.history: dict[str, list[tuple[str, ...]]] = {}  # name → earlier active revision sets
        self.refused: dict[str, str] = {}  # file → why, as of the last reload
        self.last_error: dict[str, dict[str, str]] = {}  # name → {file, error, at}
        self.disk: dict[str, tuple[str, ...]] = {}  # name → revisions valid in the folder
        self.holds: dict[str, Hold] = {}
        self.listeners: list[Callable[[Snapshot], None]] = []
        self.shadows: dict[str, Shadowing] = {}  # name → candidate evaluated beside it (never deciding)
        self.shadow_listeners: list[Callable[[dict[str, Shadowing]], None]] = []
        self._verified: dict[str, tuple[Manifest, CompiledBundle]] = {}  # sha256 of the file bytes → result

    # -------------------------------------------------------------------------------- reading

    @property
    def ready(self) -> bool:
        """A valid bundle is active (and the default bundle, when one is configured, among them)."""
        active = self.snapshot.active
        return bool(active) and (self.default_bundle is None or self.default_bundle in active)

    def not_ready_reason(self) -> str:
        if not self.snapshot.active:
            return f"no valid bundle is loaded from {self.folder}"
        return f"the default bundle {self.default_bundle!r} is not loaded (loaded: {', '.join(self.snapshot.active)})"

    # -------------------------------------------------------------------------------- loading

    def _scan(self, report: LoadReport) -> tuple[dict[str, list[Loaded]], dict[str, str]]:
        found: dict[str, list[Loaded]] = {}
        refused: dict[str, str] = {}
        seen: dict[str, str] = {}
        now = datetime.now(UTC)
        try:
            paths = sorted(self.folder.glob(f"*{SUFFIX}"))
        except OSError as exc:
            refused[str(self.folder)] = f"cannot list the bundle folder: {exc}"
            paths = []
        verified: dict[str, tuple[Manifest, CompiledBundle]] = {}
        for path in paths:
            try:
                raw = path.read_bytes()
                digest = hashlib.sha256(raw).hexdigest()
                # the same bytes were verified and compiled before: a reload compiles only what changed
                manifest, compiled = self._verified.get(digest) or load_bytes(raw, self.keyring, path.name)
            except (ArtifactError, OSError) as exc:
                refused[path.name] = str(exc)
                continue
            verified[digest] = (manifest, compiled)
            key = compiled.bundle.key
            if key in seen:
                refused[path.name] = f"{key} is already loaded from {seen[key]}"
                continue
            seen[key] = path.name
            self._state.put(manifest.revision, raw)
            loaded = self.known.get(manifest.revision)
            if loaded is None or loaded.file != path.name:
                loaded = Loaded(manifest, compiled, path.name, now)
            found.setdefault(manifest.name, []).append(loaded)
        self._verified = verified
        return found, refused

    def _from_archive(self, revision: str) -> Loaded | None:
        if revision in self.known:
            return self.known[revision]
        raw = self._state.get(revision)
        if raw is None:
            return None
        try:
            manifest, compiled = load_bytes(raw, self.keyring, f"archive {revision}")
        except ArtifactError as exc:
            log.error("archived artifact %s refused: %s", revision, exc)
            return None
        return Loaded(manifest, compiled, f"archive:{revision}", datetime.now(UTC)) if manifest.revision == revision else None

    def reload(self) -> LoadReport:
        """Scan the folder and swap in a new snapshot if anything changed. Thread-safe."""
        with self._lock:
            return self._reload()

    def _reload(self, reason: str = "reload") -> LoadReport:
        old = self.snapshot
        report = LoadReport(old.generation)
        found, refused = self._scan(report)
        self.holds = self._state.read_holds()
        at = datetime.now(UTC).isoformat()
        for file, why in refused.items():
            name = self._name_of_file(file, found)
            if name:
                self.last_error[name] = {"file": file, "error": why, "at": at}
            log.error("bundle refused: %s", why)
            metrics.bundle_loaded(name or "unknown", "", "", False)
        report.refused = dict(refused)
        active: dict[str, list[Loaded]] = {n: list(v) for n, v in found.items()}
        # a refused file that held an active version: keep that version (bad never replaces good)
        for name, loaded_set in old.active.items():
            for loaded in loaded_set:
                if loaded.file in refused and not any(x.compiled.bundle.key == loaded.compiled.bundle.key
                                                      for x in active.get(name, [])):
                    active.setdefault(name, []).append(loaded)
                    report.kept.append(f"{loaded.compiled.bundle.key} ({loaded.revision[:19]})")
        self.disk = {n: tuple(sorted(x.revision for x in v)) for n, v in found.items()}
        stale = [n for n, h in self.holds.items() if self.disk.get(n, ()) != h.disk]
        if stale:  # a new artifact arrived for these names: their holds no longer apply
            for name in stale:
                log.info("hold on %s released: the folder now offers other artifacts", name)
                del self.holds[name]
            self._state.write_holds(self.holds)
        for name, hold in self.holds.items():
            pinned = [self._from_archive(r) for r in hold.revisions]
            if all(p is not None for p in pinned):
                active[name] = [p for p in pinned if p is not None]
        if not any(active.values()) and old.active:
            log.error("the bundle folder %s yields no valid bundle; keeping the active ones", self.folder)
            report.kept.extend(sorted(old.active))
            active = {n: list(v) for n, v in old.active.items()}
        self.refused = refused
        report = self._swap(active, report)
        self._follow_shadows()
        return report

    def _name_of_file(self, file: str, found: dict[str, list[Loaded]]) -> str | None:
        """Artifacts are named <name>-<version>.bundle.json: attribute a refused file to a bundle name."""
        names = set(found) | set(self.snapshot.active) | {x.name for x in self.known.values()}
        matches = [n for n in names if file.startswith(n + "-")]
        return max(matches, key=len) if matches else None

    def _swap(self, active: dict[str, list[Loaded]], report: LoadReport) -> LoadReport:
        old = self.snapshot
        new_sets = {n: tuple(sorted(v, key=lambda x: (x.compiled.bundle.effective_from, x.manifest.version)))
                    for n, v in sorted(active.items()) if v}
        old_revs = {n: tuple(x.revision for x in v) for n, v in old.active.items()}
        new_revs = {n: tuple(x.revision for x in v) for n, v in new_sets.items()}
        if old_revs == new_revs and old.generation > 0:
            return report
        for name in sorted(set(old_revs) | set(new_revs)):
            if old_revs.get(name) != new_revs.get(name):
                report.changed.append(name)
                if name in old_revs:
                    stack = self.history.setdefault(name, [])
                    stack.append(old_revs[name])
                    del stack[:-10]
        for loaded_set in new_sets.values():
            for loaded in loaded_set:
                self.known[loaded.revision] = loaded
        self._forget_old()
        catalog = Catalog.of(x.compiled for v in new_sets.values() for x in v)
        snapshot = Snapshot(catalog, new_sets, old.generation + 1, datetime.now(UTC))
        self.snapshot = snapshot  # the atomic switch: one attribute assignment
        report.generation = snapshot.generation
        self._announce(old, snapshot)
        return report

    def _forget_old(self) -> None:
        active = {x.revision for v in self.snapshot.active.values() for x in v}
        by_name: dict[str, list[Loaded]] = {}
        for loaded in self.known.values():
            by_name.setdefault(loaded.name, []).append(loaded)
        for items in by_name.values():
            items.sort(key=lambda x: x.loaded_at)
            for loaded in items[:-MAX_KNOWN_PER_NAME]:
                if loaded.revision not in active:
                    del self.known[loaded.revision]

    def _announce(self, old: Snapshot, new: Snapshot) -> None:
        before = {x.revision: x for v in old.active.values() for x in v}
        after = {x.revision: x for v in new.active.values() for x in v}
        for rev, x in before.items():
            if rev not in after:
                metrics.bundle_retired(x.name, x.manifest.version, rev)
        for rev, x in after.items():
            if rev not in before:
                metrics.bundle_loaded(x.name, x.manifest.version, rev, True)
                log.info("bundle active: %s (%s, %s)", x.compiled.bundle.key, rev[:19], x.file)
        for listener in self.listeners:
            listener(new)

    # -------------------------------------------------------------------------------- admin

    def request_reload(self) -> LoadReport:
        """Admin reload: reload here and tell the other workers (reload stamp in the state folder)."""
        report = self.reload()
        self._state.stamp()
        return report

    def _hold(self, name: str, revisions: tuple[str, ...], reason: str) -> LoadReport:
        holds = self._state.read_holds()
        holds[name] = Hold(revisions, self.disk.get(name, ()), reason, datetime.now(UTC).isoformat())
        self._state.write_holds(holds)
        return self._reload()

    def rollback(self, name: str) -> LoadReport:
        """Back to the revisions that were active for ``name`` before the last change."""
        with self._lock:
            current = tuple(x.revision for x in self.snapshot.active.get(name, ()))
            stack = self.history.get(name, [])
            while stack and stack[-1] == current:
                stack.pop()
            if not stack:
                raise StoreConflict(f"bundle {name!r} has no earlier active state to roll back to")
            target = stack.pop()
            missing = [r for r in target if self._from_archive(r) is None]
            if missing:
                raise StoreConflict(f"earlier revisions of {name!r} are no longer available: {', '.join(missing)}")
            report = self._hold(name, target, "rollback")
            # the rollback itself must not become the state a next rollback returns to
            stack = self.history.get(name, [])
            if stack and stack[-1] == current:
                stack.pop()
            return report

    def activate(self, name: str, version: str | None = None, revision: str | None = None) -> LoadReport:
        """Make one known revision active for its version (held), or, with neither argument,
        release the hold so the folder decides again."""
        with self._lock:
            if version is None and revision is None:
                holds = self._state.read_holds()
                if name not in holds and name not in self.snapshot.active:
                    raise KeyError(name)
                holds.pop(name, None)
                self._state.write_holds(holds)
                return self._reload()
            candidates = [x for x in self.known.values() if x.name == name
                          and (revision is None or x.revision == revision)
                          and (version is None or x.manifest.version == version)]
            if revision is not None and not candidates and (archived := self._from_archive(revision)):
                candidates = [archived] if archived.name == name else []
            if not candidates:
                wanted = " ".join(p for p in (version and f"version {version}", revision and f"revision {revision}") if p)
                raise StoreConflict(f"bundle {name!r} has no known {wanted}")
            target = max(candidates, key=lambda x: x.loaded_at)
            self.known[target.revision] = target
            current = [x for x in self.snapshot.active.get(name, ())
                       if x.manifest.version != target.manifest.version]
            revisions = tuple(x.revision for x in [*current, target])
            return self._hold(name, revisions, f"activate {target.manifest.version} {target.revision}")

    # -------------------------------------------------------------------------------- shadow candidates

    def _follow_shadows(self) -> None:
        """``self.shadows`` from the state (another worker may have changed it); listeners hear of changes."""
        found: dict[str, Shadowing] = {}
        for name, (revision, since) in self._state.read_shadows().items():
            current = self.shadows.get(name)
            if current is not None and current.key == (name, revision, since):
                found[name] = current
                continue
            loaded = self._from_archive(revision)
            if loaded is None or loaded.name != name:
                log.error("shadow candidate %s of %s is not available here; not shadowing it", revision, name)
                continue
            found[name] = Shadowing(name, loaded, since)
        if {n: s.key for n, s in found.items()} != {n: s.key for n, s in self.shadows.items()}:
            self.shadows = found
            for listener in self.shadow_listeners:
                listener(found)

    def _candidate(self, name: str, version: str | None, revision: str | None, file: str | None) -> Loaded:
        if file is not None:
            return self._candidate_file(name, file)
        found = [x for x in self.known.values() if x.name == name
                 and (revision is None or x.revision == revision)
                 and (version is None or x.manifest.version == version)]
        if not found and version is not None and revision is None:  # a folder artifact not active (held)
            found = [Loaded(m, c, "bundle folder", datetime.now(UTC)) for m, c in self._verified.values()
                     if m.name == name and m.version == version]
        if not found and revision is not None and (archived := self._from_archive(revision)):
            found = [archived] if archived.name == name else []
        if not found:
            wanted = " ".join(p for p in (version and f"version {version}", revision and f"revision {revision}") if p)
            raise StoreConflict(f"bundle {name!r} has no known {wanted}")
        return max(found, key=lambda x: x.loaded_at)

    def _candidate_file(self, name: str, file: str) -> Loaded:
        """An artifact file inside the bundle folder, e.g. ``candidates/x.bundle.json`` (a subfolder is not
        loaded by reloads): verified like every artifact."""
        root = self.folder.resolve()
        path = (self.folder / file).resolve()
        if not path.is_relative_to(root) or not path.name.endswith(SUFFIX):
            raise StoreConflict(f"{file!r} is not a {SUFFIX} file inside the bundle folder")
        try:
            raw = path.read_bytes()
            manifest, compiled = load_bytes(raw, self.keyring, file)
        except OSError as exc:
            raise StoreConflict(f"cannot read {file!r}: {exc.strerror or exc}") from None
        except ArtifactError as exc:
            raise StoreConflict(f"{file!r} refused: {exc}") from None
        if manifest.name != name:
            raise StoreConflict(f"{file!r} holds bundle {manifest.name!r}, not {name!r}")
        self._state.put(manifest.revision, raw)  # other workers (and restarts) load it from the archive
        return Loaded(manifest, compiled, file, datetime.now(UTC))

    def start_shadow(self, name: str, version: str | None = None, revision: str | None = None,
                     file: str | None = None) -> Shadowing:
        """Evaluate a candidate beside ``name`` from now on (replacing an earlier one); StoreConflict
        when it cannot be found or verified. Every worker follows through the state."""
        with self._lock:
            candidate = self._candidate(name, version, revision, file)
            self.known.setdefault(candidate.revision, candidate)
            shadows = self._state.read_shadows()
            shadows[name] = (candidate.revision, datetime.now(UTC).isoformat())
            self._state.write_shadows(shadows)
            self._follow_shadows()
            if name not in self.shadows:
                raise StoreConflict(f"candidate {candidate.revision} of {name!r} could not be archived")
            return self.shadows[name]

    def stop_shadow(self, name: str) -> None:
        """Stop shadowing ``name`` (in every worker); KeyError when no candidate is shadowed."""
        with self._lock:
            shadows = self._state.read_shadows()
            if name not in shadows and name not in self.shadows:
                raise KeyError(name)
            shadows.pop(name, None)
            self._state.write_shadows(shadows)
            self._follow_shadows()

    # -------------------------------------------------------------------------------- reporting

    def describe(self, name: str, today: date) -> dict[str, Any]:
        """Everything /v1/bundles/{name} shows; KeyError when the name is unknown."""
        active = self.snapshot.active.get(name, ())
        known = [x for x in self.known.values() if x.name == name]
        if not active and not known and name not in self.last_error:
            raise KeyError(name)
        in_force = None
        try:
            in_force = self.snapshot.catalog.select(name, today).ref.revision
        except KeyError:
            pass
        active_revs = {x.revision for x in active}
        versions = [_version_info(x, x.revision in active_revs, x.revision == in_force)
                    for x in sorted(known, key=lambda x: (x.manifest.version, x.loaded_at))]
        hold = self.holds.get(name)
        return {
            "name": name,
            "active": [x.manifest.version for x in active],
            "in_force": next((x.manifest.version for x in active if x.revision == in_force), None),
            "versions": versions,
            "held": None if hold is None or hold.disk != self.disk.get(name, ()) else
            {"revisions": list(hold.revisions), "reason": hold.reason, "at": hold.at},
            "history": [list(s) for s in reversed(self.history.get(name, []))],
            "last_error": self.last_error.get(name),
        }

    def summary(self, today: date) -> list[dict[str, Any]]:
        names = sorted(set(self.snapshot.active) | {x.name for x in self.known.values()} | set(self.last_error))
        out = []
        for name in names:
            d = self.describe(name, today)
            out.append({"name": name, "active": d["active"], "in_force": d["in_force"],
                        "versions": [v["version"] for v in d["versions"] if v["active"]],
                        "held": d["held"] is not None, "last_error": d["last_error"]})
        return out


def _version_info(x: Loaded, active: bool, in_force: bool) -> dict[str, Any]:
    m = x.manifest
    return {"version": m.version, "effective_from": m.effective_from, "revision": m.revision,
            "sha256": m.sha256, "key_id": m.key_id, "source_revision": m.source_revision,
            "file": x.file, "loaded_at": x.loaded_at.isoformat(), "active": active, "in_force": in_force}
