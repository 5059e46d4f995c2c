"""``poortwachter log``: query the decision log or verify its hash chains (see :mod:`..logbook.cli`)."""

from __future__ import annotations

from ..logbook.cli import add_arguments as arguments
from ..logbook.cli import run

HELP = "query the decision log (by client, subject, time) or verify its hash chains"
__all__ = ["HELP", "arguments", "run"]
