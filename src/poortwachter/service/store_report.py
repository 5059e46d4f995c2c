"""What the bundle store tells operators: readiness and why not, /readyz detail, /v1/bundles, and the log
lines and metrics of a swap (which bundles came, went or lost their key).

Functions of the store (service/store.py delegates to them). With a bundle source (service/source.py) every
answer also carries the source's status: source, digest of the set in force, last success, last error, age.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from ..artifacts.artifact import SUFFIX
from . import metrics
from .store_model import Loaded, Refusal, Scan, Snapshot

if TYPE_CHECKING:
    from .store import BundleStore

__all__ = ["announce", "describe", "health", "health_detail", "not_ready_reason", "note_refusals", "refused_artifacts", "source",
           "summary"]

log = logging.getLogger("poortwachter.store")


def source(store: BundleStore) -> dict[str, Any] | None:
    """The bundle source's status (as the polling worker last wrote it), None without a source."""
    if store.source_status is None:
        return None
    return store.source_status().as_dict(store._now().timestamp())


def not_ready_reason(store: BundleStore) -> str:
    active = store.snapshot.active
    missing = [n for n in store.required if n not in active]
    if not active:
        why = f"no valid bundle is loaded from {store.folder}"
    else:
        why = (f"bundles {', '.join(map(repr, missing))}, configured in dossier_type_bundles, are not loaded"
               f" (loaded: {', '.join(active)})")
    related = [r for r in store._refusals.values()
               if not missing or any(r.file.startswith(n + "-") for n in missing)] or list(store._refusals.values())
    if related:
        why += "; refused: " + "; ".join(f"{r.file}: {r.reason}" for r in related[:3])
        if len(related) > 3:
            why += f"; and {len(related) - 3} more (GET /v1/bundles)"
    if store.key_problems:
        why += "; keys: " + "; ".join(f"{p}: {w}" for p, w in sorted(store.key_problems.items()))
    status = source(store)
    if status is not None:
        why += f"; bundle source {status['source']}: " + (
            status["last_error"] or ("no set pulled yet" if status["digest"] is None else "reachable"))
    return why


def refused_artifacts(store: BundleStore) -> list[dict[str, str]]:
    """Refused files (file, reason, since), oldest refusal first."""
    return [r.as_dict() for r in sorted(store._refusals.values(), key=lambda r: (r.since, r.file))]


def health(store: BundleStore) -> dict[str, Any]:
    """What /readyz shows beside its verdict: the set this worker decides with and what is wrong."""
    snap = store.snapshot
    out = {"generation": snap.generation, "revision_set": snap.digest,
           "active": {n: [x.manifest.version for x in v] for n, v in snap.active.items()},
           "refused": refused_artifacts(store), "watching": store.watching, "watch_error": store.watch_error,
           "key_problems": dict(store.key_problems)}
    status = source(store)
    if status is not None:
        out["source"] = status
    return out


def health_detail(store: BundleStore) -> str:
    """One line for /readyz: the set, and every reason an operator should look (refusals, watcher, source)."""
    snap = store.snapshot
    parts = [f"generation {snap.generation}, revision set {snap.digest[7:19]}"]
    if store._refusals:
        parts.append(f"{len(store._refusals)} refused (the last good version stays active): "
                     + "; ".join(f"{r.file} since {r.since}: {r.reason}" for r in store._refusals.values()))
    if store.watching is False:
        parts.append(f"hot reload not watching: {store.watch_error}")
    if store.key_problems:
        parts.append("keys: " + "; ".join(f"{p}: {w}" for p, w in sorted(store.key_problems.items())))
    status = source(store)
    if status is not None:
        age = "never" if status["age_seconds"] is None else f"{status['age_seconds']:g} s ago"
        line = f"bundle source {status['source']}: set {(status['digest'] or 'none')[:19]}, last success {age}"
        if status["last_error"]:
            line += f", failing ({status['last_error_cause']}): {status['last_error']}; the set in force stays"
        parts.append(line)
    return "; ".join(parts)


def _source_of(store: BundleStore, name: str, active: tuple[Loaded, ...]) -> dict[str, Any] | None:
    """Per bundle: the source's status and the digests of its active artifacts as pulled."""
    if store.source_status is None:
        return None
    status = store.source_status()
    out = status.as_dict(store._now().timestamp())
    out["artifacts"] = {x.manifest.version: status.files.get(x.file) for x in active}
    return out


def describe(store: BundleStore, name: str, today: date) -> dict[str, Any]:
    """Everything /v1/bundles/{name} shows; KeyError when the name is unknown."""
    active = store.snapshot.active.get(name, ())
    known = [x for x in store.known.values() if x.name == name]
    if not active and not known and name not in store.last_error:
        raise KeyError(name)
    in_force = None
    try:
        in_force = store.snapshot.catalog.select(name, today).ref.revision
    except KeyError:
        pass
    active_revs = {x.revision for x in active}
    versions = [_version_info(x, x.revision in active_revs, x.revision == in_force)
                for x in sorted(known, key=lambda x: (x.manifest.version, x.loaded_at))]
    hold = store.holds.get(name)
    return {
        "name": name,
        "active": [x.manifest.version for x in active],
        "in_force": next((x.manifest.version for x in active if x.revision == in_force), None),
        "versions": versions,
        "held": None if hold is None or hold.disk != store.disk.get(name, ()) else
        {"revisions": list(hold.revisions), "reason": hold.reason, "at": hold.at},
        "history": [list(s) for s in reversed(store.history.get(name, []))],
        "last_error": store.last_error.get(name),
        "source": _source_of(store, name, active),
    }


def summary(store: BundleStore, today: date) -> list[dict[str, Any]]:
    names = sorted(set(store.snapshot.active) | {x.name for x in store.known.values()} | set(store.last_error))
    out = []
    for name in names:
        d = describe(store, name, today)
        out.append({"name": name, "active": d["active"], "in_force": d["in_force"],
                    "versions": [v["version"] for v in d["versions"] if v["active"]],
                    "held": d["held"] is not None, "last_error": d["last_error"], "source": d["source"]})
    return out


def note_refusals(store: BundleStore, scan: Scan, active: dict[str, list[Loaded]]) -> None:
    """Refusals with their 'since'; each new one is logged and counted once, not at every reload."""
    at = store._now().isoformat()
    refusals: dict[str, Refusal] = {}
    names = set(active) | {x.name for x, _ in scan.good.values()}
    for file, why in scan.refused.items():
        prev = store._refusals.get(file)
        if prev is not None and prev.reason == why:
            refusals[file] = prev
            continue
        refusals[file] = Refusal(file, why, at)
        name = _name_of_file(store, file, names)
        if name:
            store.last_error[name] = {"file": file, "error": why, "at": at}
        log.error("bundle refused: %s", why)
        version = file[len(name) + 1:].removesuffix(SUFFIX) if name and file.endswith(SUFFIX) else ""
        metrics.bundle_loaded(name or "unknown", version, "", False)
    store._refusals = refusals
    store.refused = dict(scan.refused)
    metrics.bundle_refused(sum(1 for f in refusals if f.endswith(SUFFIX)))

def _name_of_file(store: BundleStore, file: str, names: set[str]) -> str | None:
    """Artifacts are named <name>-<version>.bundle.json: attribute a refused file to a bundle name."""
    names = names | set(store.snapshot.active) | {x.name for x in store.known.values()}
    matches = [n for n in names if file.startswith(n + "-")]
    return max(matches, key=len) if matches else None


def _version_info(x: Loaded, active: bool, in_force: bool) -> dict[str, Any]:
    m = x.manifest
    return {"version": m.version, "effective_from": m.effective_from, "revision": m.revision,
            "sha256": m.sha256, "key_id": m.key_id, "source_revision": m.source_revision,
            "file": x.file, "loaded_at": x.loaded_at.isoformat(), "active": active, "in_force": in_force}


def announce(store: BundleStore, old: Snapshot, new: Snapshot) -> None:
    """Log and count what a swap from ``old`` to ``new`` changed: retired, revoked and loaded bundles, and a
    required bundle gone (the store is no longer ready)."""
    before = {x.revision: x for v in old.active.values() for x in v}
    after = {x.revision: x for v in new.active.values() for x in v}
    for rev, x in before.items():
        if rev not in after:
            metrics.bundle_retired(x.name, x.manifest.version, rev)
            if not store._trusts(x):
                log.error("bundle %s (%s) deactivated: its signing key %r is no longer trusted",
                          x.compiled.bundle.key, rev[:19], x.manifest.key_id)
                metrics.bundle_revoked(x.name, x.manifest.version)
    for rev, x in after.items():
        if rev not in before:
            metrics.bundle_loaded(x.name, x.manifest.version, rev, True)
            log.info("bundle active: %s (%s, %s)", x.compiled.bundle.key, rev[:19], x.file)
    for name in store.required:
        if name in old.active and name not in new.active:
            log.error("not ready: %s", not_ready_reason(store))
