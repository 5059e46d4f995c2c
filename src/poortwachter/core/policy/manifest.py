"""``bundle.yaml`` → :class:`Manifest`: name, version, vocabulary, thresholds, consent bands,
obligations and, for an overlay, what it extends and removes (everything but the rules)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from ..errors import Span
from ..verdict import Text
from ..vocabulary import BASE_OBLIGATIONS, DOSSIER_TYPES, YEAR_FACTS, YOUTH_CARE, Vocabulary
from .declared_vocabulary import parse_vocabulary
from .model import Bundle
from .report import Report
from .source import line_of
from .values import DEFAULT_CONSENT_BY_AGE, ConsentBand

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
LAW_AGE_THRESHOLDS = (12, 16, 18)

MANIFEST_KEYS = {
    "name", "version", "effective_from", "description", "vocabulary", "age_thresholds",
    "year_thresholds", "consent_by_age", "obligations", "extends", "remove", "dossier_types",
}
BAND_KEYS = {"below", "from", "wilsonbekwaam"}  # a consent_by_age band
WILSONBEKWAAM_PARTIES = ("gezag",)  # whose consent counts for a wilsonbekwame client (not the client himself)


def _int_list(report: Report, file: str, meta: Mapping[str, Any], key: str, default: tuple[int, ...],
              least: int = 1) -> tuple[int, ...]:
    """``least`` 0 for year thresholds: ``>= 0`` tells a known date from an unknown one (-1)."""
    value = meta.get(key)
    if value is None:
        return default
    if not (isinstance(value, list) and all(isinstance(x, int) and not isinstance(x, bool) and x >= least
                                            for x in value)):
        report.error(file, line_of(meta), f"'{key}' must be a list of integers of at least {least}")
        return default
    return tuple(sorted(set(value)))


def _consent_by_age(report: Report, file: str, meta: Mapping[str, Any]) -> tuple[ConsentBand, ...]:
    value = meta.get("consent_by_age")
    if value is None:
        return DEFAULT_CONSENT_BY_AGE
    bands: list[ConsentBand] = []
    ok = isinstance(value, list) and value
    lower: int | None = 0  # None once a band without 'below' was seen: nothing may follow it
    for item in value if isinstance(value, list) else []:
        below = item.get("below") if isinstance(item, Mapping) else None
        parties = item.get("from") if isinstance(item, Mapping) else None
        wb = item.get("wilsonbekwaam", []) if isinstance(item, Mapping) else None
        if not (isinstance(item, Mapping) and set(item) <= BAND_KEYS
                and isinstance(parties, list) and parties and set(parties) <= {"self", "gezag"} and lower is not None
                and (below is None or (type(below) is int and below > lower))  # ages rise band by band
                and isinstance(wb, list) and set(wb) <= set(WILSONBEKWAAM_PARTIES)):
            ok = False
            break
        lower = below
        bands.append(ConsentBand(below, tuple(parties), tuple(wb)))
    if not ok or bands[-1].below is not None:
        report.error(file, line_of(value) or line_of(meta),
                     "'consent_by_age' must be a list of {below: N, from: [self|gezag, …], wilsonbekwaam: [gezag]} "
                     "with N rising, the last without 'below' ('wilsonbekwaam' is optional)")
        return DEFAULT_CONSENT_BY_AGE
    return tuple(bands)


def parse_text(report: Report, file: str, data: Any, what: str, rule: str | None = None) -> Text | None:
    if not (isinstance(data, Mapping) and all(isinstance(v := data.get(k), str) and v.strip() for k in ("nl", "en"))):
        report.error(file, line_of(data), f"{what} needs non-empty 'nl' and 'en' texts", rule)
        return None
    return Text(data["nl"].strip(), data["en"].strip())


class Manifest:
    """The parsed bundle.yaml: everything but the rules."""

    def __init__(self, report: Report, file: str, meta: Any) -> None:
        self.file = file
        if not isinstance(meta, Mapping):
            report.error(file, 1, "bundle.yaml must be a mapping with name, version, effective_from, …")
            meta = {}
        line = line_of(meta)
        for key in sorted(set(meta) - MANIFEST_KEYS):
            report.error(file, line, f"unknown key {key!r} (expected one of {', '.join(sorted(MANIFEST_KEYS))})")
        self.name = meta.get("name")
        if not (isinstance(self.name, str) and NAME.match(self.name)):
            report.error(file, line, "'name' must be lower-case letters, digits and dashes, e.g. nl-jgz")
            self.name = "invalid"
        self.version = str(meta.get("version", ""))
        if not SEMVER.match(self.version):
            report.error(file, line, f"'version' must be semver MAJOR.MINOR.PATCH, got {self.version!r}")
        eff = meta.get("effective_from")
        if isinstance(eff, str):
            try:
                eff = date.fromisoformat(eff)
            except ValueError:
                pass
        if not isinstance(eff, date):
            report.error(file, line, "'effective_from' must be a date (YYYY-MM-DD)")
            eff = date.min
        self.effective_from: date = eff
        self.description = str(meta.get("description", "")).strip()
        vocab_data = meta.get("vocabulary", "youth-care")
        self.vocabulary: Vocabulary = YOUTH_CARE
        if isinstance(vocab_data, Mapping):
            custom, problems = parse_vocabulary(vocab_data, Span(file, line_of(vocab_data)))
            report.items.extend(problems)
            self.vocabulary = custom or YOUTH_CARE
        elif vocab_data != "youth-care":
            report.error(file, line, "'vocabulary' must be 'youth-care' or a custom vocabulary mapping")
        ages = _int_list(report, file, meta, "age_thresholds", LAW_AGE_THRESHOLDS)
        years = _int_list(report, file, meta, "year_thresholds", (), least=0)
        self.thresholds: dict[str, tuple[int, ...]] = dict(self.vocabulary.thresholds)
        if self.vocabulary.youth_care:
            self.thresholds.update({"client.age": ages, **dict.fromkeys(YEAR_FACTS, years)})
        self.consent_by_age = _consent_by_age(report, file, meta)
        self.obligations: dict[str, Text] = {k: Text(*v) for k, v in BASE_OBLIGATIONS.items()}
        self.declared_obligations: dict[str, int] = {}
        extra = meta.get("obligations") or {}
        if not isinstance(extra, Mapping):
            report.error(file, line, "'obligations' must map obligation ids to {nl, en} texts")
            extra = {}
        for oid, texts in extra.items():
            if not (isinstance(oid, str) and RULE_ID.match(oid)):
                report.error(file, line_of(extra), f"obligation id {oid!r} must be lower-case, e.g. explain_refusal")
                continue
            parsed = parse_text(report, file, texts, f"obligation {oid}")
            if parsed:
                self.obligations[oid] = parsed
                self.declared_obligations[oid] = line_of(texts) or line_of(extra)
        self.extends = meta.get("extends")
        if self.extends is not None and not (isinstance(self.extends, str) and NAME.match(self.extends)):
            report.error(file, line, "'extends' must name a bundle, e.g. nl-jeugdhulp")
            self.extends = None
        remove = meta.get("remove") or []
        if not (isinstance(remove, list) and all(isinstance(x, str) for x in remove)):
            report.error(file, line, "'remove' must be a list of rule ids")
            remove = []
        if remove and self.extends is None:
            report.error(file, line, "'remove' only makes sense in an overlay (with 'extends')")
        self.remove: tuple[str, ...] = tuple(remove)
        self.dossier_types = self._dossier_types(report, file, meta)
        self.given = frozenset(meta)

    def _dossier_types(self, report: Report, file: str, meta: Mapping[str, Any]) -> tuple[str, ...]:
        """The dossier types this bundle's law governs: the service never lets it decide another's.
        A youth-care bundle must say (an overlay may inherit its base's); a fixture vocabulary may not."""
        raw = meta.get("dossier_types")
        line = line_of(raw) or line_of(meta)
        if raw is None:
            if self.vocabulary.youth_care and self.extends is None:
                report.error(file, line, "'dossier_types' is required: the dossier types this bundle governs, "
                             f"from {', '.join(DOSSIER_TYPES)}")
            return ()
        if not (isinstance(raw, list) and raw and all(isinstance(x, str) and x for x in raw)):
            report.error(file, line, "'dossier_types' must be a non-empty list of dossier types, e.g. [jgz]")
            return ()
        if self.vocabulary.youth_care:
            for wrong in [x for x in raw if x not in DOSSIER_TYPES]:
                report.error(file, line, f"unknown dossier type {wrong!r} (one of {', '.join(DOSSIER_TYPES)})")
        return tuple(dict.fromkeys(raw))

    def inherit(self, base: Bundle) -> None:
        """An overlay keeps what its base declares unless it declares its own: obligations (added to
        its own), age and year thresholds and consent_by_age. Otherwise replacing one rule would
        silently change who must consent for every base rule."""
        for oid, text in base.obligations.items():
            self.obligations.setdefault(oid, text)
        if self.vocabulary.youth_care and base.vocabulary.youth_care:
            if "age_thresholds" not in self.given:
                self.thresholds["client.age"] = base.thresholds["client.age"]
            if "year_thresholds" not in self.given:
                for fact in YEAR_FACTS:
                    self.thresholds[fact] = base.thresholds[fact]
        if "consent_by_age" not in self.given:
            self.consent_by_age = base.consent_by_age
        if "dossier_types" not in self.given:
            self.dossier_types = base.dossier_types
