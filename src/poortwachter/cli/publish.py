"""``poortwachter publish``: push built artifacts as one set to an OCI registry, or write a static layout.

    poortwachter publish bundles/*.bundle.json --to oci://registry.example.nl/poortwachter/bundles:2026.1
    poortwachter publish bundles/*.bundle.json --to public/          # index.json + artifacts, for any web server

Registry credentials come from POORTWACHTER_PUBLISH_USERNAME / POORTWACHTER_PUBLISH_PASSWORD (anonymous
without). ``--keys DIR`` verifies every artifact against those public keys first, so a set the sidecars
would refuse (wrong key, changed after signing) is not published at all.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..artifacts.artifact import load
from ..artifacts.keys import load_keyring
from .common import INVALID, OK

HELP = "publish built artifacts to an OCI registry (oci://HOST/REPO:TAG) or a folder for a web server"
USERNAME_ENV = "POORTWACHTER_PUBLISH_USERNAME"
PASSWORD_ENV = "POORTWACHTER_PUBLISH_PASSWORD"  # noqa: S105 - the name of the variable, not a password


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("artifacts", nargs="+", type=Path, help="*.bundle.json files (poortwachter build)")
    cp.add_argument("--to", required=True, help="oci://HOST[:PORT]/REPO:TAG, or a folder for a static layout")
    cp.add_argument("--keys", type=Path, help="verify every artifact against the public keys in this folder first")
    cp.add_argument("--timeout", type=float, default=30.0, help="seconds per request to the registry")


def run(args: argparse.Namespace) -> int:
    from ..artifacts.remote.client import RemoteError  # httpx only for this command
    from ..artifacts.remote.publish import publish

    if args.keys is not None:
        keyring = load_keyring(args.keys)
        for path in args.artifacts:
            manifest, _ = load(path, keyring)  # ArtifactError: main prints it (exit 2)
            print(f"verified {path} ({manifest.name}@{manifest.version}, key {manifest.key_id})")
    user, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    try:
        where = publish(args.artifacts, args.to, datetime.now(UTC), timeout=args.timeout,
                        credentials=(user, password) if user and password else None)
    except RemoteError as exc:
        print(f"poortwachter publish: {exc}", file=sys.stderr)
        return INVALID
    print(f"published {len(args.artifacts)} artifact(s): {where}")
    return OK
