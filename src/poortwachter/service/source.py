"""Pulling bundle sets from a registry or an index (setting ``bundle_source``): poll, verify, install.

One worker polls (the holder of ``<state_dir>/source/.poll-lock``; when it exits another takes over); every
worker loads ``<state_dir>/source/current`` through the bundle store like any bundle folder, so the store's
rules hold unchanged: last good per file, archive, holds, revocation by a removed key, and all workers on
one revision set (service/siblings.py). A poll:

1. asks the source with ``If-None-Match`` (the registry's ETag is the manifest digest; a static server's
   ETag, else the sha256 of the index): an unchanged set costs one small request;
2. fetches the artifacts it lacks, each checked against the digest it is listed under;
3. verifies every artifact (signature by a trusted key, content hash, validation, compile) and the set
   against what was activated before (``seen.json``): a version older than one already activated for that
   bundle, or other bytes under a version already activated, is a replay and refuses the whole set;
4. only then writes the set and swaps ``current`` (one rename), and reloads: this worker at once, the
   others through the reload stamp in the state folder.

A worker never serves without a set while one is coming: on a first start (nothing cached in
``state_dir/source``) the app's startup waits in :meth:`Poller.first_set` (the worker accepts no connection
meanwhile) until this worker has loaded the set the lead installs, a poll since the worker started has
failed (the source cannot give one now: the worker serves, not ready, and /readyz says why; the lead
polls on, and every worker loads the set when it comes), or
``FIRST_SET_TIMEOUTS`` × ``bundle_source_timeout`` have passed.

Any failure leaves the set in force as it is, is recorded in ``status.json`` (``/v1/bundles``, ``/readyz``,
``poortwachter_bundle_source_errors_total{cause}``) and is retried after an exponential backoff with
jitter. Every request has a timeout (``bundle_source_timeout``). A source pinned by digest is fetched once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from anyio import to_thread

from ..artifacts.artifact import ArtifactError, Manifest, load_bytes
from ..artifacts.keys import Keyring
from ..artifacts.remote import parse_location
from ..artifacts.remote.client import Credentials, Pulled, Remote, RemoteError
from ..core.errors import PoortwachterError
from ..core.policy.compile import CompiledBundle
from . import metrics
from .source_state import CURRENT, SourceState, Status, semver
from .store import BundleStore

__all__ = ["PASSWORD_ENV", "USERNAME_ENV", "Poller", "SetNotActivated", "check_set", "credentials_from_env", "next_delay"]

log = logging.getLogger("poortwachter.source")

USERNAME_ENV = "POORTWACHTER_BUNDLE_SOURCE_USERNAME"
PASSWORD_ENV = "POORTWACHTER_BUNDLE_SOURCE_PASSWORD"  # noqa: S105 - a secret: read from the environment, never a setting
FIRST_SET_TIMEOUTS = 3  # a first start waits at most this many bundle_source_timeout for its first set
FIRST_SET_TICK = 0.05  # seconds between looks while it waits


class SetNotActivated(PoortwachterError):
    """A pulled set that must not be activated; ``cause`` is ``verification`` or ``downgrade``."""

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


def credentials_from_env(env: Mapping[str, str] | None = None) -> Credentials | None:
    """Registry credentials (a Kubernetes Secret as environment variables), or None: anonymous."""
    env = os.environ if env is None else env
    user, password = env.get(USERNAME_ENV), env.get(PASSWORD_ENV)
    return (user, password) if user and password else None


def next_delay(interval: float, failures: int, max_backoff: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to the next poll: the interval ±10 % when all is well; after failures, an exponential backoff
    capped at ``max_backoff``, of which a random half is waited (jitter: a fleet does not retry in step)."""
    if failures <= 0:
        return interval * (0.9 + 0.2 * rand())
    ceiling: float = min(max_backoff, interval * 2.0 ** min(failures, 30))
    return max(interval / 2, float(ceiling) * (0.5 + 0.5 * rand()))


def check_set(pulled: Pulled, keyring: Keyring, seen: dict[str, dict[str, str]],
              where: str) -> list[tuple[Manifest, CompiledBundle, bytes, str]]:
    """(manifest, compiled, bytes, blob digest) of each artifact of a pulled set that may be activated; SetNotActivated
    otherwise (see the module docstring, step 3)."""
    checked: dict[str, tuple[Manifest, CompiledBundle, bytes, str]] = {}
    for blob, raw in pulled.files:
        try:
            manifest, compiled = load_bytes(raw, keyring, f"{where} {blob.file}")
        except ArtifactError as exc:
            raise SetNotActivated("verification", str(exc)) from None
        key = f"{manifest.name}@{manifest.version}"
        if key in checked:
            raise SetNotActivated("verification", f"{where}: {key} is listed twice")
        checked[key] = (manifest, compiled, raw, blob.digest)
    for manifest, *_ in checked.values():
        known = seen.get(manifest.name, {})
        before = known.get(manifest.version)
        if before is not None and before != manifest.revision:
            raise SetNotActivated("downgrade", f"{where}: {manifest.name}@{manifest.version} was activated as {before}; "
                                          f"the source now offers {manifest.revision} under the same version (a "
                                          "published version never changes: publish a new version)")
        newest = max(known, key=semver, default=None)
        if before is None and newest is not None and semver(manifest.version) < semver(newest):
            raise SetNotActivated("downgrade", f"{where}: {manifest.name}@{manifest.version} is older than "
                                          f"{manifest.name}@{newest}, already activated: a replayed older artifact "
                                          "is refused (to go back on purpose, see docs/operations.md, rollback)")
    return list(checked.values())


class Poller:
    """The polling side of one worker (see the module docstring)."""

    def __init__(self, store: BundleStore, state_dir: Path, source: str, *, interval: float, timeout: float,
                 max_backoff: float, credentials: Credentials | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.location = parse_location(source)
        self.state = SourceState(state_dir, source)
        self.interval, self.timeout, self.max_backoff = interval, timeout, max_backoff
        self.credentials = credentials
        self.clock = clock
        self.created = clock()  # about when this worker started (a sibling's poll failing since then counts)
        store.source_status = self.status  # /v1/bundles and /readyz show it

    def status(self) -> Status:
        return self.state.read_status()

    def poll(self) -> Status:
        """One poll (blocking: run it in a thread). Never raises for trouble at the source."""
        status = self.state.read_status()
        held = self.state.held()
        if self.location.pinned and status.digest == self.location.reference and held:
            status.last_success = self.clock()
            self.state.write_status(status)
            return status
        remote = Remote(self.location, self.timeout, self.credentials)
        try:
            pulled = remote.pull(status.etag if held else None, held.get)
            if pulled is not None:
                self._activate(pulled, status)
        except (RemoteError, SetNotActivated) as exc:
            return self._failed(status, exc.cause, str(exc))
        except OSError as exc:
            return self._failed(status, "write", f"cannot write the set to {self.state.folder}: {exc}")
        finally:
            remote.close()
        was_failing = status.failures > 0
        status.last_success, status.last_error, status.last_error_cause, status.failures = self.clock(), None, None, 0
        self.state.write_status(status)
        metrics.source_succeeded(self.location.text, status.digest or "", status.last_success)
        if was_failing:
            log.info("bundle source %s reachable again (set %s)", self.location.text, (status.digest or "")[:19])
        return status

    def _activate(self, pulled: Pulled, status: Status) -> None:
        seen = self.state.read_seen()
        checked = check_set(pulled, self.store.keyring, seen, self.location.text)
        files = {f"{m.name}-{m.version}.bundle.json": (raw, digest) for m, _, raw, digest in checked}
        for manifest, compiled, raw, _ in checked:
            seen.setdefault(manifest.name, {})[manifest.version] = manifest.revision
            self.store.prime(raw, manifest, compiled)  # verified and compiled once, here
        self.state.install(pulled.digest, {file: raw for file, (raw, _) in files.items()})
        self.state.write_seen(seen)
        status.digest, status.etag, status.last_change = pulled.digest, pulled.etag, self.clock()
        status.files = {file: digest for file, (_, digest) in files.items()}
        log.info("bundle source %s: set %s installed (%s)", self.location.text, pulled.digest[:19],
                 ", ".join(f"{m.name}@{m.version}" for m, *_ in checked))
        self.store.request_reload()

    def _failed(self, status: Status, cause: str, why: str) -> Status:
        if status.last_error != why:
            log.error("bundle source %s: %s (the set in force stays; retrying)", self.location.text, why)
        status.last_error, status.last_error_cause, status.last_error_at = why, cause, self.clock()
        status.failures += 1
        self.state.write_status(status)
        metrics.source_failed(cause)
        return status

    async def first_set(self, stop: asyncio.Event, limit: float | None = None) -> bool:
        """Before this worker serves, with nothing loaded (a first start): wait for the first set (see the module
        docstring). Runs beside :meth:`run` (the lead pulls there); a follower loads ``current`` as soon as the
        lead swaps it, without waiting for its watcher. True once this worker's store has a set."""
        started = self.created
        deadline = time.monotonic() + (FIRST_SET_TIMEOUTS * self.timeout if limit is None else limit)
        current = self.state.folder / CURRENT
        tried: str | None = None
        while not self.store.snapshot.active:
            if stop.is_set() or time.monotonic() >= deadline:
                log.error("bundle source %s: no set loaded %.0f s after start; serving, not ready",
                          self.location.text, self.clock() - started)
                return False
            failed_at = self.state.read_status().last_error_at
            if failed_at is not None and failed_at >= started:
                return False  # the source cannot give a set now: serve, not ready (the poll logged why)
            try:
                target: str | None = os.readlink(current)
            except OSError:
                target = None
            if target is not None and target != tried:  # the lead installed a set: load it here, now
                tried = target
                await to_thread.run_sync(self.store.reload)
                continue
            await _pause(stop, FIRST_SET_TICK)
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: poll while this worker leads, else wait for the lead to come free. Never raises."""
        failures = 0
        try:
            while not stop.is_set():
                try:
                    if self.state.lead():
                        failures = (await to_thread.run_sync(self.poll)).failures
                except Exception:
                    log.exception("bundle source poll failed; retrying")
                    failures += 1
                await _pause(stop, next_delay(self.interval, failures, self.max_backoff))
        finally:
            self.state.release()


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
