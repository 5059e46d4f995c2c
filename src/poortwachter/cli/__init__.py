"""`poortwachter`: validate, test, explain, build and publish bundles; analyse them; serve decisions.

Exit codes fit CI: 0 ok, 1 a test failed (or a diff found changes), 2 invalid input (a bundle or
request that does not validate, a file that cannot be read).

One module per command, each with ``HELP``, ``arguments(parser)`` and ``run(args) -> exit code``;
this module wires them into one argument parser.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Protocol

from ..artifacts.artifact import ArtifactError
from ..core.errors import BundleInvalid, RequestError
from . import (
    build,
    diff,
    explain,
    keygen,
    lint,
    log,
    matrix,
    openapi,
    publish,
    reference,
    schema,
    serve,
    table,
    test,
    validate,
)
from .common import FAILED, INVALID, Usage, print_diagnostics


class Command(Protocol):
    """A command module: its one-line help, its arguments and what it runs."""

    HELP: str

    def arguments(self, cp: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: dict[str, Command] = {
    "validate": validate, "test": test, "explain": explain, "build": build, "publish": publish, "keygen": keygen, "schema": schema,
    "serve": serve, "table": table, "diff": diff, "lint": lint, "matrix": matrix, "reference": reference, "log": log,
    "openapi": openapi,
}
"""The commands in the order ``--help`` lists them."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="poortwachter", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        cp = sub.add_parser(name, help=command.HELP, description=command.HELP)
        cp.set_defaults(func=command.run)
        command.arguments(cp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `poortwachter diff … | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILED
    except (Usage, RequestError, ArtifactError, OSError, ValueError) as exc:
        print(f"poortwachter {args.command}: {exc}", file=sys.stderr)
        return INVALID
    except BundleInvalid as exc:
        print_diagnostics(exc.diagnostics)
        return INVALID
