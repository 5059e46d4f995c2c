"""What several commands share: exit codes, the usage error, printing diagnostics, loading bundles."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..artifacts import embedded
from ..artifacts.folder import load_folder
from ..core.catalog import Catalog
from ..core.errors import Diagnostic, PoortwachterError
from ..core.policy.compile import compile_bundle
from ..core.policy.model import Bundle

OK, FAILED, INVALID = 0, 1, 2


class Usage(PoortwachterError):
    """A problem with the command line or its inputs: printed, exit 2."""


def print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    for d in diagnostics:
        print(str(d), file=sys.stderr if d.severity == "error" else sys.stdout)


def load(folder: Path) -> Bundle:
    """A bundle folder, its warnings printed (errors raise BundleInvalid)."""
    bundle, warnings, _ = load_folder(folder)
    print_diagnostics(warnings)
    return bundle


def sibling_catalog(folder: Path, own: Bundle) -> Catalog:
    """The folder's bundle plus every sibling folder that validates (other versions, bases)."""
    bundles = [compile_bundle(own, "source")]
    for sibling in sorted(folder.resolve().parent.iterdir()):
        if sibling.resolve() == folder.resolve() or not (sibling / "bundle.yaml").is_file():
            continue
        try:
            other, _, _ = load_folder(sibling)
        except PoortwachterError:
            continue
        if other.key != own.key:
            bundles.append(compile_bundle(other, "source"))
    return Catalog.of(bundles)


def write(text: str, out: Path | None) -> None:
    """``text`` to the file ``out`` (its folder made), or to stdout."""
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


def sources(cp: argparse.ArgumentParser) -> None:
    """The options where :func:`resolve` looks for name@version."""
    cp.add_argument("--bundles", type=Path, default=Path("bundles"), help="artifact folder for name@version")
    cp.add_argument("--policies", type=Path, default=Path("policies"), help="bundle folders for name@version")
    cp.add_argument("--keys", type=Path, default=embedded.key_dir(), help="folder of trusted *.pub keys")


def resolve(spec: str, args: argparse.Namespace) -> Bundle:
    """A bundle folder, an artifact file or name[@version] among the :func:`sources`."""
    from ..artifacts.locate import resolve_bundle

    try:
        bundle, _ = resolve_bundle(spec, args.bundles, args.policies, args.keys)
    except KeyError as exc:
        raise Usage(exc.args[0]) from None
    return bundle


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """No automatic garbage collection while a command builds a large analysis (``diff``). Process-wide, so
    only a command's entry point uses it, never the library (authoring/) a service or a test may host.

    The split of a large diff makes ~10^6 objects that live until it ends (nodes, restrictions, leaves) and
    no reference cycle; the collector, counting allocations, walked all of them ~9 times (1 s of 7.8 s,
    nl-jeugdhulp → duo-plus-diemen) and found nothing. Re-enabled after, unless it was off before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
