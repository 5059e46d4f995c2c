"""``poortwachter serve``: run the decision service (imported only when asked: the other commands stay light)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "run the decision service"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("--host")
    cp.add_argument("--port", type=int)
    cp.add_argument("--bundles", type=Path)
    cp.add_argument("--workers", type=int)
    cp.add_argument("--config", type=Path)


def run(args: argparse.Namespace) -> int:
    from ..service.main import serve

    return serve(args)
