"""What the routes share: the per-process Service object and two tiny helpers.

Routes stay thin: ``svc = service(request)``, read the body, hand it to the Decider (or the store),
render with ``json_response``. Nothing here decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .cache import DecisionCache
from .decider import Call, Decider
from .decision_log import DecisionLog
from .inventory import Inventory
from .security import Guard
from .settings import Settings
from .store import BundleStore


@dataclass
class Service:
    settings: Settings
    store: BundleStore
    cache: DecisionCache
    decision_log: DecisionLog
    decider: Decider
    admin: Guard
    decisions: Guard
    inventory: Inventory


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def call(request: Request, endpoint: str) -> Call:
    state = request.scope.get("state") or {}
    return Call(state.get("request_id", ""), state.get("traceparent"), endpoint)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")
