"""``poortwachter keygen``: an Ed25519 signing key pair."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..artifacts.keys import generate
from .common import OK, Usage

HELP = "make an Ed25519 signing key pair"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("out", type=Path, help="path without suffix; writes .key and .pub")
    cp.add_argument("--force", action="store_true")


def run(args: argparse.Namespace) -> int:
    private, public = args.out.with_suffix(".key"), args.out.with_suffix(".pub")
    if private.exists() and not args.force:
        raise Usage(f"{private} exists; pass --force to overwrite")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    generate(private, public)
    print(f"wrote {private} (keep secret) and {public} (give to the service as a trusted key)")
    return OK
