"""The values the bundle language speaks about: a fact's value, a set of facts, and the consent bands a
bundle may declare. The language owns them, so it needs nothing of request parsing (core/request.py)
or fact derivation (core/facts.py), which produce these values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FactValue = str | bool | int
Facts = Mapping[str, FactValue]


@dataclass(frozen=True, slots=True)
class ConsentBand:
    """``from_`` must all consent for clients below ``below`` years (None: no upper bound).

    ``wilsonbekwaam``: for a client flagged wilsonbekwaam, the consent of all of these parties counts
    instead of ``from_`` (e.g. a holder of gezag for a young person of 12+ who cannot judge his
    interests): such a client cannot consent himself (BW 7:465 lid 2).
    """

    below: int | None
    from_: tuple[str, ...]
    wilsonbekwaam: tuple[str, ...] = ()


DEFAULT_CONSENT_BY_AGE = (
    ConsentBand(12, ("gezag",)),
    ConsentBand(16, ("self", "gezag")),
    ConsentBand(None, ("self",)),
)
