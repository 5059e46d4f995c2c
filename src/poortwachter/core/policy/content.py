"""A bundle's *content*: its files as data, the one input both folders and artifacts parse from.

    {"root": "nl-jgz", "manifest": ["bundle.yaml", {...}], "rules": [["rules/x.yaml", [...]], ...],
     "base": <content of the bundle it extends, or null>}

An overlay's content embeds its base's content, so a built overlay artifact is self-contained and
its hash covers the base it was validated against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import BundleInvalid, Diagnostic, Span
from .model import Bundle
from .parse import parse_bundle


def bundle_from_content(content: Mapping[str, Any]) -> tuple[Bundle, list[Diagnostic]]:
    """Validate ``content`` (and its base, first); raises BundleInvalid with every error."""
    base_content = content.get("base")
    base: Bundle | None = None
    if base_content is not None:
        base, _ = bundle_from_content(base_content)

    def resolve(name: str) -> Bundle:
        if base is None or base.name != name:
            raise KeyError(f"content holds no base bundle named {name!r}")
        return base

    manifest = content.get("manifest")
    rules = content.get("rules")
    if not (isinstance(manifest, list) and len(manifest) == 2 and isinstance(rules, list)):
        raise BundleInvalid([Diagnostic("error", Span(str(content.get("root", "?"))), "malformed bundle content")])
    return parse_bundle(manifest[0], manifest[1], [(f, d) for f, d in rules], resolve)
