"""``poortwachter openapi``: the service's OpenAPI document without running it (3.1, or 3.0 for generators).

The same document ``GET /openapi.json`` (or ``/openapi-3.0.json``) serves, built from an app that is
never started: nothing is loaded, logged or listened on. For a client generator in a build pipeline.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import orjson

from .common import OK, write

HELP = "print the OpenAPI document of the decision API (--version 3.0 for generators that lag on 3.1)"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("--version", choices=("3.1", "3.0"), default="3.1", help="OpenAPI version (default 3.1)")
    cp.add_argument("-o", "--out", type=Path, help="write to this file (default: standard output)")


def run(args: argparse.Namespace) -> int:
    from ..service.app import create_app
    from ..service.openapi30 import openapi_30
    from ..service.settings import Settings

    quiet = logging.getLogger("poortwachter")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the app is only described: its start-up warnings do not apply
    try:
        document = create_app(Settings.model_validate({"reload": "off", "decision_log": "off"})).openapi()
    finally:
        quiet.setLevel(level)
    if args.version == "3.0":
        document = openapi_30(document)
    write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n", args.out)
    return OK
