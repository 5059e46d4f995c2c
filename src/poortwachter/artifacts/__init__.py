"""The shell around bundles: reading policy folders, building and verifying signed artifacts.

``__all__`` is the surface the service, the CLI and authoring use (tests/test_surface.py checks it).
"""

from .artifact import ArtifactError, Manifest, build, load, load_bytes, verify
from .folder import load_folder
from .keys import load_keyring, read_keyring
from .locate import resolve_bundle

__all__ = ["ArtifactError", "Manifest", "build", "load", "load_bytes", "load_folder", "load_keyring", "read_keyring",
           "resolve_bundle", "verify"]
