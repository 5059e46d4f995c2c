"""The pure core: parse a request, pick the bundle that governs it, derive facts, evaluate. No I/O.

``__all__`` is the core's surface for the shell (service, CLI, authoring, tests/test_surface.py checks
it); everything else is reached through its module (``poortwachter.core.request`` and so on). The
``decide`` function is not re-exported: it would hide the module ``poortwachter.core.decide``.
"""

from .catalog import Catalog
from .decide import Decided, Prepared, prepare
from .errors import BundleError, BundleInvalid, Diagnostic, PoortwachterError, RequestError
from .routing import Refused, Routing
from .verdict import Verdict

__all__ = ["BundleError", "BundleInvalid", "Catalog", "Decided", "Diagnostic", "PoortwachterError", "Prepared",
           "Refused", "RequestError", "Routing", "Verdict", "prepare"]
