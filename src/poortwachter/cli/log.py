"""``poortwachter log``: ask the decision log or verify its signed checkpoints (see :mod:`..logbook.cli`)."""

from __future__ import annotations

from ..logbook.cli import add_arguments as arguments
from ..logbook.cli import run

HELP = "ask the decision log who accessed a dossier (several folders, or the central store) or verify it (signed checkpoints)"
__all__ = ["HELP", "arguments", "run"]
