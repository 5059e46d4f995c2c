"""The sources registry (docs/sources.md) and the citations rules make of it.

A rule's ``source`` names a document by a short id from the registry, then where in it to look:
``toolkit-jgz-2026 §6.7.2``, ``faq-jeugddossier-2021 vraag 13``, ``nvo-kopie-dossier``. The registry is
a Markdown table so people read the same page lint reads; it travels with the project (or with a
bundle folder, as its own ``sources.md``), never as a path outside it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REGISTRY_NAME = "sources.md"
_ID = r"[a-z0-9]+(?:[-.][a-z0-9]+)*"
# a place: a section (§6.7.2, §C.1.4), a page (p. 1), a kind and a number (bijlage C, vraag 13, noot 29,
# rule a), or an unnumbered part (inleiding)
_PLACE = r"§[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*|p\. \d+(?:-\d+)?|[a-z]+ [A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*|[a-z]+"
CITATION = re.compile(rf"^(?P<id>{_ID})(?: (?P<places>(?:{_PLACE})(?:, (?:{_PLACE}))*))?$")
_ROW = re.compile(r"^\|\s*`(?P<id>" + _ID + r")`\s*\|(?P<rest>.*)\|\s*$")
_SHA = re.compile(r"`([0-9a-f]{64})`")


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    sha256: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Registry:
    """The documents a bundle may cite, and the file they were read from (for messages)."""

    path: str
    documents: Mapping[str, Document]


@dataclass(frozen=True, slots=True)
class Citation:
    id: str
    places: tuple[str, ...]


def parse_citation(text: str) -> Citation | None:
    """``<id>[ <place>[, <place>…]]`` → Citation; anything else → None."""
    m = CITATION.match(text)
    if m is None:
        return None
    return Citation(m["id"], tuple(m["places"].split(", ")) if m["places"] else ())


def read_registry(text: str, path: str) -> Registry:
    """Every table row whose first cell is a backticked id; a row holding a sha256 adds a text fingerprint."""
    titles: dict[str, str] = {}
    shas: dict[str, list[str]] = {}
    for line in text.splitlines():
        m = _ROW.match(line.strip())
        if m is None:
            continue
        cells = [c.strip() for c in m["rest"].split("|")]
        sha = _SHA.search(m["rest"])
        if sha is not None and len(cells) == 1:
            shas.setdefault(m["id"], []).append(sha[1])
        elif cells and cells[0]:
            titles.setdefault(m["id"], cells[0])
    docs = {i: Document(i, t, tuple(shas.get(i, ()))) for i, t in titles.items()}
    return Registry(path, docs)


def find_registry(start: Path) -> Path | None:
    """The registry for a bundle whose files are under ``start``: a ``sources.md`` in the folder or an
    ancestor, else the nearest ancestor's ``docs/sources.md``."""
    here = start.resolve()
    for folder in (here, *here.parents):
        for candidate in (folder / REGISTRY_NAME, folder / "docs" / REGISTRY_NAME):
            if candidate.is_file():
                return candidate
    return None


def load_registry(path: Path) -> Registry:
    return read_registry(path.read_text(encoding="utf-8"), str(path))


def text_of(document: Document, folder: Path, cache: dict[Path, str]) -> tuple[Path, str] | None:
    """The plain text of ``document`` in ``folder``: ``<id>.txt``, or any file whose sha256 the registry lists."""
    named = folder / f"{document.id}.txt"
    if named.is_file():
        return named, _read(named, cache)
    if document.sha256:
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            if hashlib.sha256(path.read_bytes()).hexdigest() in document.sha256:
                return path, _read(path, cache)
    return None


def _read(path: Path, cache: dict[Path, str]) -> str:
    if path not in cache:
        cache[path] = path.read_text(encoding="utf-8", errors="replace")
    return cache[path]


def place_pattern(place: str) -> re.Pattern[str] | None:
    """How a cited place shows in the document's text (None: a form lint cannot look for)."""
    if place.startswith("§"):
        return re.compile(rf"^\s*{re.escape(place[1:])}\.?(?:\s|$)", re.MULTILINE)
    kind, _, number = place.partition(" ")
    if kind == "bijlage" and number:
        return re.compile(rf"\bbijlage\s+{re.escape(number)}\b", re.IGNORECASE)
    if kind == "vraag" and number:
        return re.compile(rf"^\s*{re.escape(number)}\s+\S", re.MULTILINE)
    if kind == "noot" and number:
        return re.compile(rf"^\s*{re.escape(number)}\.?\s+\S", re.MULTILINE)
    if not number:
        return re.compile(rf"\b{re.escape(kind)}\b", re.IGNORECASE)
    return None


def missing_places(citation: Citation, text: str) -> list[str]:
    """The cited places not found in ``text``."""
    out = []
    for place in citation.places:
        pattern = place_pattern(place)
        if pattern is not None and pattern.search(text) is None:
            out.append(place)
    return out

