"""The bundle store: verified, compiled bundles behind one atomically swapped snapshot.

Requests read ``store.snapshot`` once (a plain attribute read) and decide with that immutable
Snapshot (frozen, its mappings read-only), so a reload never changes the rules under a request.
Reloading happens off the request path (a worker thread): the keyring is read again, every artifact
in the folder is verified (signature, hash), validated and compiled first; only then is the new
snapshot swapped in. What a reload may and may not do:

- every worker activates the same set: per file of the folder, the revision recorded as its *last
  good* one in the shared state (service/bundle_state.py). A file that verifies becomes its file's
  last good revision; a file that fails verification or validation is refused and reported (log,
  ``/v1/bundles``, ``/readyz``, the refused-artifacts gauge) and its last good revision stays active,
  loaded from the archive by a worker that never had it in memory: a bad or unsigned bundle never
  replaces a good one, in any worker, including one started after the file went bad;
- a file removed from the folder retires its version (an operator's decision), but a folder that yields
  no valid bundle at all (emptied, unmounted, missing) changes nothing: the last good set stays;
- a removed key revokes: every active artifact is re-verified against the keyring as read now, and one
  whose key is gone is deactivated (logged, ``poortwachter_bundle_revoked_total``) even if that leaves
  nothing active: readiness then fails and says why;
- an admin ``rollback`` or ``activate`` *holds* a name at chosen revisions until a new artifact for
  that name arrives in the folder (a fix), or an ``activate`` without arguments releases it.

With several uvicorn workers each process has its own store; the shared state folder (last-good
record, holds, shadows, archive, reload stamp) is watched by every worker (service/reload.py), so all
workers converge on the same active set; ``health()["revision_set"]`` is a digest of it to compare.

Shadow evaluation (service/shadow.py) names its candidates here too: ``start_shadow`` resolves a
version, revision or artifact file to a verified, compiled artifact, archives it and records
``name → revision`` in the state; every reload re-reads that record into ``store.shadows`` and tells
the ``shadow_listeners``. A candidate never enters the snapshot: it cannot decide anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..artifacts.artifact import SUFFIX, ArtifactError, Manifest, load_bytes
from ..artifacts.keys import Keyring, fingerprint, read_keyring
from ..core.catalog import Catalog
from ..core.errors import PoortwachterError
from ..core.policy.compile import CompiledBundle
from . import metrics
from .bundle_state import ARCHIVE, FolderState, Good, Hold, MemoryState

__all__ = ["ARCHIVE", "BundleStore", "Hold", "LoadReport", "Loaded", "Refusal", "Shadowing", "Snapshot", "StoreConflict"]

log = logging.getLogger("poortwachter.store")

MAX_KNOWN_PER_NAME = 20


@dataclass(frozen=True)
class Loaded:
    """One verified, compiled artifact, where it came from, and the key (raw bytes) it was verified with."""

    manifest: Manifest
    compiled: CompiledBundle
    file: str
    loaded_at: datetime
    signer: bytes

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def revision(self) -> str:
        return self.manifest.revision


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _changed_ns(path: Path) -> int | None:
    """The file's status-change time (ns; cannot be set by a copy tool), None when it is not there."""
    try:
        return os.stat(path).st_ctime_ns
    except OSError:
        return None


def _digest(active: Mapping[str, tuple[Loaded, ...]]) -> str:
    """sha256 of the sorted ``name revision`` lines: equal in two workers iff they decide with the same set."""
    lines = sorted(f"{n} {x.revision}" for n, v in active.items() for x in v)
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """What requests decide with: immutable (read-only mappings), replaced as a whole."""

    catalog: Catalog
    active: Mapping[str, tuple[Loaded, ...]]
    generation: int
    loaded_at: datetime
    digest: str = ""

    @classmethod
    def of(cls, active: dict[str, tuple[Loaded, ...]], generation: int, at: datetime) -> Snapshot:
        catalog = Catalog.of(x.compiled for v in active.values() for x in v)
        return cls(catalog, MappingProxyType(dict(active)), generation, at, _digest(active))


@dataclass(frozen=True)
class Shadowing:
    """A candidate artifact evaluated beside the active versions of ``name`` (since ``since``)."""

    name: str
    candidate: Loaded
    since: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.name, self.candidate.revision, self.since)


class StoreConflict(PoortwachterError):
    """An admin request that cannot be carried out (unknown version, nothing to roll back to)."""


@dataclass(frozen=True)
class Refusal:
    """A file refused at the last reload: why, and since when (this worker saw it refused without a break)."""

    file: str
    reason: str
    since: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "reason": self.reason, "since": self.since}


@dataclass
class _Scan:
    """One pass over the bundle folder."""

    good: dict[str, tuple[Loaded, int]] = field(default_factory=dict)  # file → (artifact, ctime ns)
    refused: dict[str, str] = field(default_factory=dict)  # file → why
    listed: bool = True  # the folder could be listed


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
    """Loads a folder of artifacts into snapshots; see the module docstring for the rules.

    ``key_dirs``: the folders the keyring is read from, again on every reload (a removed key revokes);
    without them the ``keyring`` given is kept as it is (tests, embedded use). ``clock``: 'now' for load
    times, refusals and holds (the service passes the decider's; stored in UTC)."""

    def __init__(self, folder: Path, keyring: Keyring, state_dir: Path | None = None,
                 required: str | Iterable[str] | None = (), key_dirs: Iterable[Path] = (), *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.folder = Path(folder)
        self._clock = clock or _utc_now
        self.keyring = keyring
        self.key_dirs = tuple(Path(p) for p in key_dirs)
        self.key_problems: dict[str, str] = {}
        # names readiness needs: the routed bundles (one name given as a string is one name, not its letters)
        self.required: tuple[str, ...] = ((required,) if isinstance(required, str) else
                                          tuple(dict.fromkeys(required or ())))
        self._state: MemoryState | FolderState = FolderState(state_dir) if state_dir else MemoryState()
        self._lock = threading.Lock()
        self.snapshot = Snapshot.of({}, 0, self._now())
        self.known: dict[str, Loaded] = {}  # by revision: everything loaded and still remembered
        self.history: dict[str, list[tuple[str, ...]]] = {}  # name → earlier active revision sets
        self.refused: dict[str, str] = {}  # file → why, as of the last reload
        self._refusals: dict[str, Refusal] = {}  # file → why and since when
        self.last_error: dict[str, dict[str, str]] = {}  # name → {file, error, at}
        self.disk: dict[str, tuple[str, ...]] = {}  # name → revisions valid in the folder
        self.holds: dict[str, Hold] = {}
        self.listeners: list[Callable[[Snapshot], None]] = []
        self.shadows: dict[str, Shadowing] = {}  # name → candidate evaluated beside it (never deciding)
        self.shadow_listeners: list[Callable[[dict[str, Shadowing]], None]] = []
        # sha256 of the file bytes → (manifest, compiled, key bytes it was verified with)
        self._verified: dict[str, tuple[Manifest, CompiledBundle, bytes]] = {}
        self._trusted: dict[str, bytes] = {k: fingerprint(v) for k, v in keyring.items()}
        self.watching: bool | None = None  # None: hot reload off; False: cannot watch (retrying)
        self.watch_error: str | None = None

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    # -------------------------------------------------------------------------------- reading

    @property
    def ready(self) -> bool:
        """A valid bundle is active, and so is every required name (the default bundle, when configured)."""
        active = self.snapshot.active
        return bool(active) and all(n in active for n in self.required)

    def not_ready_reason(self) -> str:
        active = self.snapshot.active
        missing = [n for n in self.required if n not in active]
        if not active:
            why = f"no valid bundle is loaded from {self.folder}"
        else:
            why = (f"bundles {', '.join(map(repr, missing))}, configured in dossier_type_bundles, are not loaded"
                   f" (loaded: {', '.join(active)})")
        related = [r for r in self._refusals.values()
                   if not missing or any(r.file.startswith(n + "-") for n in missing)] or list(self._refusals.values())
        if related:
            why += "; refused: " + "; ".join(f"{r.file}: {r.reason}" for r in related[:3])
            if len(related) > 3:
                why += f"; and {len(related) - 3} more (GET /v1/bundles)"
        if self.key_problems:
            why += "; keys: " + "; ".join(f"{p}: {w}" for p, w in sorted(self.key_problems.items()))
        return why

    def refused_artifacts(self) -> list[dict[str, str]]:
        """Refused files (file, reason, since), oldest refusal first."""
        return [r.as_dict() for r in sorted(self._refusals.values(), key=lambda r: (r.since, r.file))]

    def health(self) -> dict[str, Any]:
        """What /readyz shows beside its verdict: the set this worker decides with and what is wrong."""
        snap = self.snapshot
        return {"generation": snap.generation, "revision_set": snap.digest,
                "active": {n: [x.manifest.version for x in v] for n, v in snap.active.items()},
                "refused": self.refused_artifacts(), "watching": self.watching, "watch_error": self.watch_error,
                "key_problems": dict(self.key_problems)}

    def health_detail(self) -> str:
        """One line for /readyz: the set, and every reason an operator should look (refusals, watcher)."""
        snap = self.snapshot
        parts = [f"generation {snap.generation}, revision set {snap.digest[7:19]}"]
        if self._refusals:
            parts.append(f"{len(self._refusals)} refused (the last good version stays active): "
                         + "; ".join(f"{r.file} since {r.since}: {r.reason}" for r in self._refusals.values()))
        if self.watching is False:
            parts.append(f"hot reload not watching: {self.watch_error}")
        if self.key_problems:
            parts.append("keys: " + "; ".join(f"{p}: {w}" for p, w in sorted(self.key_problems.items())))
        return "; ".join(parts)

    def watch_status(self, watching: bool | None, error: str | None = None) -> None:
        """Called by the watcher (service/reload.py): is the bundle folder being watched right now?"""
        if watching is False and self.watching is not False:
            log.error("hot reload is not watching: %s (retrying)", error)
        elif watching and self.watching is False:
            log.info("hot reload is watching %s again", self.folder)
        self.watching, self.watch_error = watching, error
        metrics.watcher_failing(watching is False)

    # -------------------------------------------------------------------------------- loading

    def _trusts(self, loaded: Loaded) -> bool:
        """The key the artifact was verified with is still trusted under the same id."""
        return self._trusted.get(loaded.manifest.key_id) == loaded.signer

    def _read_keys(self) -> None:
        if not self.key_dirs:
            return
        ring, problems = read_keyring(*self.key_dirs)
        for path, why in problems.items():
            if self.key_problems.get(path) != why:
                log.error("key %s: %s", path, why)
        gone = sorted(set(self.keyring) - set(ring))
        if gone:
            log.warning("keys no longer trusted: %s", ", ".join(gone))
        self.keyring, self.key_problems = ring, problems
        self._trusted = {k: fingerprint(v) for k, v in ring.items()}

    def _verify(self, raw: bytes, where: str) -> tuple[Manifest, CompiledBundle, bytes]:
        """Verified and compiled, from the cache when these bytes passed under the same key before."""
        digest = hashlib.sha256(raw).hexdigest()
        cached = self._verified.get(digest)
        if cached is not None and self._trusted.get(cached[0].key_id) == cached[2]:
            return cached
        manifest, compiled = load_bytes(raw, self.keyring, where)
        result = (manifest, compiled, self._trusted[manifest.key_id])
        self._verified[digest] = result
        return result

    def _scan(self) -> _Scan:
        scan = _Scan()
        seen: dict[str, str] = {}
        now = self._now()
        try:
            paths = sorted(self.folder.glob(f"*{SUFFIX}"))
            if not self.folder.is_dir():
                raise FileNotFoundError(f"no such folder: {self.folder}")
        except OSError as exc:
            scan.refused[str(self.folder)] = f"cannot list the bundle folder: {exc}"
            scan.listed = False
            paths = []
        used: set[str] = set()
        for path in paths:
            try:
                changed_ns = os.stat(path).st_ctime_ns  # before reading: a write after this makes it differ
                raw = path.read_bytes()
                manifest, compiled, signer = self._verify(raw, path.name)
            except (ArtifactError, OSError) as exc:
                scan.refused[path.name] = str(exc)
                continue
            used.add(hashlib.sha256(raw).hexdigest())
            key = compiled.bundle.key
            if key in seen:
                scan.refused[path.name] = f"{key} is already loaded from {seen[key]}"
                continue
            seen[key] = path.name
            self._state.put(manifest.revision, raw)
            loaded = self.known.get(manifest.revision)
            if loaded is None or loaded.file != path.name or loaded.signer != signer:
                loaded = Loaded(manifest, compiled, path.name, now, signer)
            scan.good[path.name] = (loaded, changed_ns)
        self._verified = {d: v for d, v in self._verified.items() if d in used}  # a reload compiles only what changed
        return scan

    def _from_archive(self, revision: str, file: str | None = None) -> Loaded | None:
        """A revision loaded before, re-verified against the keyring as it is now (None if not trusted)."""
        cached = self.known.get(revision)
        if cached is not None and self._trusts(cached):
            return cached
        raw = self._state.get(revision)
        if raw is None:
            return None
        try:
            manifest, compiled = load_bytes(raw, self.keyring, f"archive {revision}")
        except ArtifactError as exc:
            log.error("archived artifact %s refused: %s", revision, exc)
            return None
        if manifest.revision != revision:
            return None
        return Loaded(manifest, compiled, file or f"archive:{revision}", self._now(),
                      self._trusted[manifest.key_id])

    def reload(self) -> LoadReport:
        """Scan the folder and swap in a new snapshot if anything changed. Thread-safe; with a state folder,
        serialised with the other workers' reloads where they touch the shared record."""
        with self._lock:
            return self._reload()

    def _next_record(self, record: dict[str, Good], scan: _Scan) -> dict[str, Good]:
        """The last-good record after this scan (see the module docstring). Runs under the state lock; a file
        that changed (or appeared) since this scan read it is left alone: the scan is stale for it, and the
        change itself causes another reload."""
        new = dict(record)
        for file, (loaded, changed_ns) in scan.good.items():
            if _changed_ns(self.folder / file) == changed_ns:
                new[file] = Good(loaded.revision, changed_ns)
        if scan.listed and scan.good:  # the folder yields bundles: files no longer in it are retired
            present = set(scan.good) | set(scan.refused)
            new = {f: g for f, g in new.items() if f in present or _changed_ns(self.folder / f) is not None}
        return new

    def _reload(self) -> LoadReport:
        old = self.snapshot
        report = LoadReport(old.generation)
        self._read_keys()
        scan = self._scan()
        with self._state.locked():
            record = self._state.read_last_good()
            new = self._next_record(record, scan)
            active, kept = self._from_record(new, scan)
            if new != record:
                self._state.write_last_good(new)
            self.holds = self._state.read_holds()
        self._note_refusals(scan, active)
        report.refused = dict(scan.refused)
        report.kept = kept
        self.disk = {}
        for loaded, _ in scan.good.values():
            self.disk.setdefault(loaded.name, ())
            self.disk[loaded.name] = tuple(sorted((*self.disk[loaded.name], loaded.revision)))
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
        report = self._swap(active, report)
        self._follow_shadows()
        return report

    def _from_record(self, record: dict[str, Good], scan: _Scan) -> tuple[dict[str, list[Loaded]], list[str]]:
        """The active set the record names (folder artifacts first, then last-good fallbacks from the archive);
        entries that no longer verify (revoked key, lost archive) are dropped from ``record``."""
        active: dict[str, list[Loaded]] = {}
        keys: set[str] = set()
        kept: list[str] = []
        fallbacks: list[tuple[str, Good]] = []
        for file, good in sorted(record.items()):
            on_disk = scan.good.get(file)
            if on_disk is not None and on_disk[0].revision == good.revision:
                active.setdefault(on_disk[0].name, []).append(on_disk[0])
                keys.add(on_disk[0].compiled.bundle.key)
            else:
                fallbacks.append((file, good))
        for file, good in fallbacks:
            loaded = self._from_archive(good.revision, file)
            if loaded is None:
                log.error("last good version %s of %s is no longer trusted or available; deactivated",
                          good.revision[:19], file)
                del record[file]
                continue
            key = loaded.compiled.bundle.key
            if key in keys:  # another file now holds that name@version
                continue
            keys.add(key)
            active.setdefault(loaded.name, []).append(loaded)
            kept.append(f"{key} ({good.revision[:19]}, {file})")
        return active, kept

    def _note_refusals(self, scan: _Scan, active: dict[str, list[Loaded]]) -> None:
        """Refusals with their 'since'; each new one is logged and counted once, not at every reload."""
        at = self._now().isoformat()
        refusals: dict[str, Refusal] = {}
        names = set(active) | {x.name for x, _ in scan.good.values()}
        for file, why in scan.refused.items():
            prev = self._refusals.get(file)
            if prev is not None and prev.reason == why:
                refusals[file] = prev
                continue
            refusals[file] = Refusal(file, why, at)
            name = self._name_of_file(file, names)
            if name:
                self.last_error[name] = {"file": file, "error": why, "at": at}
            log.error("bundle refused: %s", why)
            version = file[len(name) + 1:].removesuffix(SUFFIX) if name and file.endswith(SUFFIX) else ""
            metrics.bundle_loaded(name or "unknown", version, "", False)
        self._refusals = refusals
        self.refused = dict(scan.refused)
        metrics.bundle_refused(sum(1 for f in refusals if f.endswith(SUFFIX)))

    def _name_of_file(self, file: str, names: set[str]) -> str | None:
        """Artifacts are named <name>-<version>.bundle.json: attribute a refused file to a bundle name."""
        names = names | set(self.snapshot.active) | {x.name for x in self.known.values()}
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
        snapshot = Snapshot.of(new_sets, old.generation + 1, self._now())
        self.snapshot = snapshot  # the atomic switch: one attribute assignment
        self._forget_old()
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
                if not self._trusts(x):
                    log.error("bundle %s (%s) deactivated: its signing key %r is no longer trusted",
                              x.compiled.bundle.key, rev[:19], x.manifest.key_id)
                    metrics.bundle_revoked(x.name, x.manifest.version)
        for rev, x in after.items():
            if rev not in before:
                metrics.bundle_loaded(x.name, x.manifest.version, rev, True)
                log.info("bundle active: %s (%s, %s)", x.compiled.bundle.key, rev[:19], x.file)
        for name in self.required:
            if name in old.active and name not in new.active:
                log.error("not ready: %s", self.not_ready_reason())
        for listener in self.listeners:
            listener(new)

    # -------------------------------------------------------------------------------- admin

    def request_reload(self) -> LoadReport:
        """Admin reload: reload here and tell the other workers (reload stamp in the state folder)."""
        report = self.reload()
        self._state.stamp()
        return report

    def _hold(self, name: str, revisions: tuple[str, ...], reason: str) -> LoadReport:
        with self._state.locked():
            holds = self._state.read_holds()
            holds[name] = Hold(revisions, self.disk.get(name, ()), reason, self._now().isoformat())
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
                with self._state.locked():
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
            if current is not None and current.key == (name, revision, since) and self._trusts(current.candidate):
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
            found = [Loaded(m, c, "bundle folder", self._now(), k) for m, c, k in self._verified.values()
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
        return Loaded(manifest, compiled, file, self._now(), self._trusted[manifest.key_id])

    def start_shadow(self, name: str, version: str | None = None, revision: str | None = None,
                     file: str | None = None) -> Shadowing:
        """Evaluate a candidate beside ``name`` from now on (replacing an earlier one); StoreConflict
        when it cannot be found or verified. Every worker follows through the state."""
        with self._lock:
            candidate = self._candidate(name, version, revision, file)
            self.known.setdefault(candidate.revision, candidate)
            shadows = self._state.read_shadows()
            shadows[name] = (candidate.revision, self._now().isoformat())
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
