"""``poortwachter schema``: the JSON Schema of rule files, for editors."""

from __future__ import annotations

import argparse
import sys

import orjson

from .common import OK

HELP = "print the JSON Schema of rule files (for editors)"


def arguments(cp: argparse.ArgumentParser) -> None:
    """No arguments."""


def run(args: argparse.Namespace) -> int:
    from ..core.policy.schema import rule_file_schema

    sys.stdout.buffer.write(orjson.dumps(rule_file_schema(), option=orjson.OPT_INDENT_2) + b"\n")
    return OK
