"""``poortwachter build``: signed artifacts of bundle folders, recording the source revision."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from ..artifacts.artifact import build
from ..artifacts.folder import load_folder
from ..artifacts.keys import load_private
from ..core.errors import BundleInvalid
from .common import INVALID, OK, print_diagnostics

HELP = "build signed artifacts of bundle folders"
DEV_KEY = Path("keys/dev-signing.key")


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("folders", nargs="+", type=Path)
    cp.add_argument("--out", type=Path, default=Path("bundles"))
    cp.add_argument("--key", type=Path, default=DEV_KEY, help="Ed25519 private key (PEM)")
    cp.add_argument("--key-id", help="key id recorded in the manifest (default: key file stem)")
    cp.add_argument("--revision", help="source revision to record (default: git HEAD of the folder)")


def _git_revision(folder: Path) -> str:
    try:
        rev = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"git:{rev}{'+dirty' if dirty else ''}"


def run(args: argparse.Namespace) -> int:
    key = load_private(args.key)
    key_id = args.key_id or args.key.stem
    for folder in args.folders:
        try:
            bundle, warnings, content = load_folder(folder)
        except BundleInvalid as exc:
            print_diagnostics(exc.diagnostics)
            return INVALID
        print_diagnostics(warnings)
        path = build(bundle, content, key, key_id, args.revision or _git_revision(folder), args.out)
        print(f"built {path} ({bundle.key}, key {key_id})")
    return OK
