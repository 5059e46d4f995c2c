"""What the routes share: the per-process Service object and two tiny helpers.

Routes stay thin: ``svc = service(request)``, read the body, hand it to the Decider (or the store),
render with ``json_response``. Nothing here decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import request_response

from .cache import DecisionCache
from .decider import Call, Decider
from .decision_log import DecisionLog
from .inventory import Inventory
from .security import Guard
from .settings import Settings
from .shadow import ShadowRunner
from .siblings import Siblings
from .store import BundleStore

if TYPE_CHECKING:
    from .source import Poller


@dataclass
class Service:
    settings: Settings
    store: BundleStore
    cache: DecisionCache
    decision_log: DecisionLog
    decider: Decider
    admin_guard: Guard  # the admin token
    decision_guard: Guard  # the decision token (security.py)
    history_guard: Guard  # the history token (questions about the past)
    inventory: Inventory
    shadow: ShadowRunner
    siblings: Siblings | None = None  # with a shared state_dir: the other workers' bundle sets
    poller: Poller | None = None  # with a bundle_source: polls it (in one worker at a time)


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def call(request: Request, endpoint: str, *, history: bool = False) -> Call:
    state = request.scope.get("state") or {}
    return Call(state.get("request_id", ""), state.get("traceparent"), endpoint, history)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


class RawRoute(APIRoute):
    """A documented FastAPI route whose endpoint takes only the Request and returns a Response.

    FastAPI still builds the OpenAPI entry from the decorator (summary, body, answers), but requests
    are dispatched the plain Starlette way: no dependency solving, no parameter validation, no exit
    stacks. That is most of FastAPI's per-request cost, and the decision routes need none of it (they
    read and validate their own bodies)."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.app = request_response(endpoint)
