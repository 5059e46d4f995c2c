"""``poortwachter log --verify``: is the decision log whole, and where is it not?

Without a key, every file's hash chain (each line's ``prev`` is the SHA-256 of the line before) and
its end (the ``.head`` copy of its newest checkpoint, and the open line of the file that continues
it) are checked: that catches accidents and clumsy edits. With the log public key(s)
(``--log-public-key``) every checkpoint's Ed25519 signature is checked as well (checkpoint.py), which
catches what a chain recomputed after an edit hides: a deleted, inserted, moved or changed line, a
removed or renamed file, a cut-off tail, each named by file, line and record id.

What it cannot prove locally: that a *whole process's* files were not all removed (nothing else
names them) — the central store keeps every checkpoint for that (docs/operations.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import orjson

from .checkpoint import Checkpoint, PublicKeys, leaf
from .segment import head_path, log_files, read_head, read_lines

UNSIGNED = "signatures not checked (give --log-public-key to catch an edit whose chain was recomputed)"


def findings(problems: Sequence[str], notes: Sequence[str]) -> list[str]:
    """The indented lines printed under a verified file or store: its problems, then its notes."""
    return [f"    {p}" for p in problems] + [f"    note: {n}" for n in notes]


@dataclass
class FileReport:
    """What :func:`verify` found in one file. ``problems`` make it BROKEN; ``notes`` do not."""

    path: Path
    records: int = 0
    problems: list[str] = field(default_factory=list)
    torn_tail: bool = False  # a last line without newline: the process died mid-write (never answered)
    closed: bool = False
    end: str | None = None  # how the file's end was checked: its checkpoint and/or the next file
    notes: list[str] = field(default_factory=list)
    signed: int = 0  # checkpoints whose signature was verified
    next_segment: str | None = None  # the file a rotated file continues in (its final checkpoint says)
    hashes: list[str] = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".gz")


def _rid(record_id: str | None) -> str:
    return f" (record {record_id})" if record_id else ""


@dataclass
class _Diff:
    """How a file's lines differ from what its checkpoints signed, gathered over the whole file, so a
    line moved past a checkpoint is told as moved, not as one removed and one inserted."""

    changed: list[tuple[int, str | None, str, str]] = field(default_factory=list)  # (line, id, signed, found)
    removed: list[tuple[str, int]] = field(default_factory=list)  # (signed leaf, the line it came after)
    inserted: list[tuple[int, str, str | None]] = field(default_factory=list)  # (line, leaf, id)

    def add(self, signed: Sequence[str], seen: list[tuple[int, str, str | None]], start: int) -> None:
        """``seen``: (line number, leaf, record id) since the previous checkpoint at line ``start``."""
        observed = [x[1] for x in seen]
        for tag, i1, i2, j1, j2 in SequenceMatcher(None, list(signed), observed, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            gone, new = list(signed[i1:i2]), seen[j1:j2]
            if tag == "replace" and len(gone) == len(new):
                self.changed += [(n, rid, g, lf) for g, (n, lf, rid) in zip(gone, new, strict=True)]
                continue
            after = seen[j1 - 1][0] if j1 else start
            self.removed += [(g, after) for g in gone]
            self.inserted += new

    def problems(self) -> list[str]:
        gone = {g for g, _ in self.removed} | {c[2] for c in self.changed}
        new = {x[1] for x in self.inserted} | {c[3] for c in self.changed}
        moved = gone & new
        out = [f"line {n}{_rid(rid)}: {'moved (lines reordered)' if found in moved else 'changed after it was signed'}"
               for n, rid, _, found in self.changed]
        out += [f"line {n}{_rid(rid)}: {'moved (lines reordered)' if lf in moved else 'inserted (not in the signed checkpoint)'}"
                for n, lf, rid in self.inserted]
        gaps: dict[int, int] = {}
        for g, after in self.removed:
            if g not in moved:
                gaps[after] = gaps.get(after, 0) + 1
        out += [f"{k} line(s) removed after line {after} (the signed checkpoint lists them)" for after, k in gaps.items()]
        return out


@dataclass
class _File:
    """Scanning state of one file."""

    report: FileReport
    keys: PublicKeys | None
    pending: list[tuple[int, str, str | None]] = field(default_factory=list)  # lines since the last checkpoint
    last_cp_line: int = 0
    checkpoints: int = 0
    signed_link: tuple[str | None, str | None] | None = None
    diff: _Diff = field(default_factory=_Diff)

    def checkpoint(self, n: int, data: dict[str, Any], prev: str | None) -> None:
        r = self.report
        try:
            cp = Checkpoint.parse(data)
        except ValueError as exc:
            r.problems.append(f"line {n}: unreadable checkpoint ({exc})")
            return
        trusted = True
        if self.keys is not None:
            why = cp.check_signature(self.keys)
            if why is not None:
                r.problems.append(f"line {n}: checkpoint {why}")
                trusted = False
            else:
                r.signed += 1
        if cp.segment != r.name:
            r.problems.append(f"line {n}: the checkpoint was made for file {cp.segment}: this file was renamed, "
                              f"or its lines come from another file")
        if cp.number != self.checkpoints + 1:
            r.problems.append(f"line {n}: checkpoint {cp.number} follows checkpoint {self.checkpoints}: "
                              f"checkpoint(s) removed or moved")
        if cp.lines != n - 1:
            r.problems.append(f"line {n}: the checkpoint was made after line {cp.lines}, but stands after line {n - 1}: "
                              f"lines were inserted or removed before it")
        if cp.head != prev:
            r.problems.append(f"line {n}: line {n - 1} does not end the chain the checkpoint signed: a line before it "
                              f"was changed, removed, inserted or moved (the chain recomputed, or not)")
        if trusted and self.keys is not None:
            self.diff.add(cp.leaves, self.pending, self.last_cp_line)
        if cp.number == 1:
            self.signed_link = (cp.prev_segment, cp.prev_segment_head)
        self.checkpoints, self.last_cp_line, self.pending = cp.number, n, []
        if cp.end is not None:
            r.closed = cp.end == "closed" or r.closed
            r.next_segment = cp.next_segment


def _scan(path: Path, keys: PublicKeys | None, links: list[tuple[Path, str, str, Any]]) -> FileReport:
    report = FileReport(path)
    state = _File(report, keys)
    prev: str | None = None
    for n, line in enumerate(read_lines(path), 1):
        if not line.endswith(b"\n"):
            report.torn_tail = True
            break
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError:
            report.problems.append(f"line {n}: not JSON")
            data = None
        event = data.get("event") if isinstance(data, dict) else None
        if n == 1:
            if event != "open":
                report.problems.append("line 1: not an open line (file truncated at the front?)")
            elif isinstance(data, dict) and data.get("prev_file"):
                links.append((path.parent, str(data["prev_file"]), report.name, data.get("prev")))
        elif not isinstance(data, dict) or data.get("prev") != prev:
            if data is not None:
                report.problems.append(f"line {n}: hash chain broken (a line before it was changed or removed)")
        if event == "checkpoint" and isinstance(data, dict):
            state.checkpoint(n, data, prev)
        else:
            if event == "close":  # files written before checkpoints existed
                report.closed = True
            elif isinstance(data, dict) and event is None:
                report.records += 1
            record_id = data.get("decision_id") if isinstance(data, dict) else None
            state.pending.append((n, leaf(line), record_id if isinstance(record_id, str) else None))
        prev = hashlib.sha256(line).hexdigest()
        report.hashes.append(prev)
    report.problems += state.diff.problems()
    if state.pending and state.checkpoints:
        first, last = state.pending[0][0], state.pending[-1][0]
        ids = ", ".join(i for _, _, i in state.pending[:5] if i) or "no record ids"
        text = (f"line(s) {first}-{last} ({ids}) come after the last checkpoint: not covered by a signature "
                f"(a batch whose write failed, never answered — or lines added later)")
        (report.problems if keys is not None else report.notes).append(text)
    if keys is not None and state.checkpoints == 0:
        report.problems.append("no checkpoint: nothing in this file is signed (written before checkpoints existed, "
                               "or they were removed)")
    if state.signed_link is not None and links and links[-1][2] == report.name:
        opened = links[-1]
        if (opened[1], opened[3]) != state.signed_link:
            report.problems.append("line 1: the open line names another previous file than its signed checkpoint")
    _check_end(report, keys)
    return report


def _check_end(report: FileReport, keys: PublicKeys | None) -> None:
    """The file against its ``.head``: the copy of its newest checkpoint (or a recorded position)."""
    name = head_path(report.path).name
    try:
        head = read_head(report.path)
    except (OSError, ValueError) as exc:
        report.problems.append(f"checkpoint {name} unreadable ({exc})")
        return
    if head is None:
        return
    if keys is not None and head.checkpoint is not None and (why := head.checkpoint.check_signature(keys)):
        report.problems.append(f"checkpoint copy {name}: {why}")
        return
    at, hashes = head.lines, report.hashes
    if len(hashes) < at:
        report.problems.append(f"the file ends after line {len(hashes)} but its checkpoint {name} records "
                               f"{at} lines: the tail was cut off")
    elif at < 1 or hashes[at - 1] != head.last:
        report.problems.append(f"line {at} is not the line the checkpoint {name} recorded: changed after it was written")
    else:
        report.end = "checkpoint"
        if len(hashes) > at:
            report.notes.append(f"{len(hashes) - at} line(s) after the checkpoint (written after its last sync "
                                f"before a crash, or a batch whose write failed: never answered)")


def _check_link(report: FileReport, successor: str, prev: Any) -> None:
    """``successor``'s open line says this file ended with the line whose hash is ``prev``."""
    where = [i for i, h in enumerate(report.hashes) if h == prev]
    if not where:
        report.problems.append(f"does not end where {successor} says it ended: the tail was cut off or changed")
        return
    report.end = f"{report.end} and next file" if report.end else "next file"
    after = len(report.hashes) - where[-1] - 1
    if after:
        report.notes.append(f"{after} line(s) after the point {successor} continues from (a batch whose write "
                            f"failed: never answered)")


def verify(directories: Path | Sequence[Path], keys: PublicKeys | None = None) -> list[FileReport]:
    """Check every file below ``directories``: its chain, its checkpoints (signatures too when ``keys``
    are given), its end against its ``.head`` copy and against the file that continues it, and that no
    file another names (previous or next) is missing."""
    dirs = [directories] if isinstance(directories, Path) else list(directories)
    links: list[tuple[Path, str, str, Any]] = []  # (folder, previous file, this file, the hash it continues from)
    reports: list[FileReport] = []
    seen: set[Path] = set()
    for directory in dirs:
        for path in log_files(directory):
            if path.resolve() not in seen:
                seen.add(path.resolve())
                reports.append(_scan(path, keys, links))
    by_name = {(r.path.parent, r.name): r for r in reports}
    for folder, before, successor, prev in links:
        if (folder, before) in by_name:
            _check_link(by_name[(folder, before)], successor, prev)
        else:
            text = f"continues {before}, which is missing from this folder (removed, or kept in a folder not given)"
            (by_name[(folder, successor)].problems if keys is not None else by_name[(folder, successor)].notes
             ).append(text)
    for report in reports:
        if report.next_segment and (report.path.parent, report.next_segment) not in by_name:
            report.problems.append(f"was rotated into {report.next_segment}, which is missing (removed?)")
        if report.end is None and not any("checkpoint" in p for p in report.problems):
            report.problems.append(f"the end cannot be checked: no checkpoint copy ({head_path(report.path).name}) "
                                   f"and no later file continues from it, so a cut-off tail would go unnoticed")
    return reports
