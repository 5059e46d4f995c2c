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

Shadow candidates (service/shadow.py) are named here too, and never enter the snapshot (store_admin.py).

The store's values live in service/store_model.py, its admin actions in service/store_admin.py and what
it reports in service/store_report.py; this module holds the loading rules. A bundle source
(service/source.py) writes into a folder this store loads like any other, and reports through
``source_status``. Keys whose raw bytes are in ``refused_keys`` (the DEV key outside the embedded default)
are never trusted, under whatever file name they appear.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..artifacts.artifact import SUFFIX, ArtifactError, Manifest, load_bytes
from ..artifacts.keys import Keyring, fingerprint, read_keyring, refuse
from ..core.policy.compile import CompiledBundle
from . import metrics, store_admin, store_report
from . import store_model as model
from .bundle_state import ARCHIVE, FolderState, Good, Hold, MemoryState
from .source_state import Status
from .store_model import (
    Loaded,
    LoadReport,
    Refusal,
    Scan,
    Shadowing,
    Snapshot,
    StoreConflict,
    utc_now,
)

__all__ = ["ARCHIVE", "BundleStore", "Hold", "LoadReport", "Loaded", "Refusal", "Shadowing", "Snapshot", "StoreConflict"]

log = logging.getLogger("poortwachter.store")

MAX_KNOWN_PER_NAME = 20


class BundleStore:
    """Loads a folder of artifacts into snapshots; see the module docstring for the rules.

    ``key_dirs``: the folders the keyring is read from, again on every reload (a removed key revokes);
    without them the ``keyring`` given is kept as it is (tests, embedded use). ``clock``: 'now' for load
    times, refusals and holds (the service passes the decider's; stored in UTC)."""

    def __init__(self, folder: Path, keyring: Keyring, state_dir: Path | None = None,
                 required: str | Iterable[str] | None = (), key_dirs: Iterable[Path] = (), *,
                 clock: Callable[[], datetime] | None = None, refused_keys: Mapping[bytes, str] | None = None) -> None:
        self.folder = Path(folder)
        self._clock = clock or utc_now
        self.refused_keys: Mapping[bytes, str] = refused_keys or {}
        self.keyring, self.key_problems = refuse(keyring, self.refused_keys)
        self.key_dirs = tuple(Path(p) for p in key_dirs)
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
        self._trusted: dict[str, bytes] = {k: fingerprint(v) for k, v in self.keyring.items()}
        self.source_status: Callable[[], Status] | None = None  # set by a bundle source (service/source.py)
        self.watching: bool | None = None  # None: hot reload off; False: cannot watch (retrying)
        self.watch_error: str | None = None

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)


    # -------------------------------------------------------------------------------- reading (store_report.py)

    @property
    def ready(self) -> bool:
        """A valid bundle is active, and so is every required name (the default bundle, when configured)."""
        active = self.snapshot.active
        return bool(active) and all(n in active for n in self.required)

    def not_ready_reason(self) -> str:
        return store_report.not_ready_reason(self)

    def refused_artifacts(self) -> list[dict[str, str]]:
        """Refused files (file, reason, since), oldest refusal first."""
        return store_report.refused_artifacts(self)

    def health(self) -> dict[str, Any]:
        """What /readyz shows beside its verdict: the set this worker decides with and what is wrong."""
        return store_report.health(self)

    def health_detail(self) -> str:
        """One line for /readyz: the set, and every reason an operator should look."""
        return store_report.health_detail(self)

    def describe(self, name: str, today: date) -> dict[str, Any]:
        """Everything /v1/bundles/{name} shows; KeyError when the name is unknown."""
        return store_report.describe(self, name, today)

    def summary(self, today: date) -> list[dict[str, Any]]:
        return store_report.summary(self, today)

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
        ring, refused = refuse(ring, self.refused_keys)
        problems.update(refused)
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

    def prime(self, raw: bytes, manifest: Manifest, compiled: CompiledBundle) -> None:
        """Bytes the caller verified with this store's keyring (service/source.py): not compiled again."""
        self._verified[hashlib.sha256(raw).hexdigest()] = (manifest, compiled, self._trusted[manifest.key_id])

    def _scan(self) -> Scan:
        scan = Scan()
        seen: dict[str, str] = {}
        now = self._now()
        try:
            # resolved once: a folder that is a symlink (source/current) swapped mid-scan is read as the one set
            # it was when listed, not its list with the next set's files
            folder = self.folder.resolve()
            paths = sorted(folder.glob(f"*{SUFFIX}"))
            if not folder.is_dir():
                raise FileNotFoundError(f"no such folder: {self.folder}")
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
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

    def _next_record(self, record: dict[str, Good], scan: Scan) -> dict[str, Good]:
        """The last-good record after this scan (see the module docstring). Runs under the state lock; a file
        that changed (or appeared) since this scan read it is left alone: the scan is stale for it, and the
        change itself causes another reload."""
        new = dict(record)
        for file, (loaded, changed_ns) in scan.good.items():
            if model.changed_ns(self.folder / file) == changed_ns:
                new[file] = Good(loaded.revision, changed_ns)
        if scan.listed and scan.good:  # the folder yields bundles: files no longer in it are retired
            present = set(scan.good) | set(scan.refused)
            new = {f: g for f, g in new.items() if f in present or model.changed_ns(self.folder / f) is not None}
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
        store_report.note_refusals(self, scan, active)
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
        store_admin.follow_shadows(self)
        return report

    def _from_record(self, record: dict[str, Good], scan: Scan) -> tuple[dict[str, list[Loaded]], list[str]]:
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
        store_report.announce(self, old, snapshot)
        for listener in self.listeners:
            listener(snapshot)
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

    # -------------------------------------------------------------------------------- admin (store_admin.py)

    def request_reload(self) -> LoadReport:
        """Admin reload: reload here and tell the other workers (reload stamp in the state folder)."""
        return store_admin.request_reload(self)

    def rollback(self, name: str) -> LoadReport:
        """Back to the revisions that were active for ``name`` before the last change."""
        return store_admin.rollback(self, name)

    def activate(self, name: str, version: str | None = None, revision: str | None = None) -> LoadReport:
        """Make one known revision active for its version (held), or, with neither argument, release the hold."""
        return store_admin.activate(self, name, version, revision)

    def start_shadow(self, name: str, version: str | None = None, revision: str | None = None,
                     file: str | None = None) -> Shadowing:
        """Evaluate a candidate beside ``name`` from now on (every worker follows through the state)."""
        return store_admin.start_shadow(self, name, version, revision, file)

    def stop_shadow(self, name: str) -> None:
        """Stop shadowing ``name`` (in every worker); KeyError when no candidate is shadowed."""
        store_admin.stop_shadow(self, name)
