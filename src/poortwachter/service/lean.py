"""The two AuthZEN decision endpoints without the framework's per-request machinery (issue 16).

``POST /access/v1/evaluation`` and ``POST /access/v1/evaluations`` are what a sidecar serves thousands
of times a second. :class:`LeanAuthZen` is pure ASGI middleware, the innermost of the app's own
(inside the request ids of ``EdgeMiddleware`` and the durable answers of ``DurableAnswers``): for
exactly those two method-and-path pairs it calls the very route functions of service/authzen.py
(token, body bounds, batch expansion, work budget, Decider) and answers their Response, or their
problem document, itself, instead of going through Starlette's exception middleware, the router's
walk over every route and ``request_response``'s wrappers. Everything else, including another
method on those paths (405 with its ``Allow``), goes to FastAPI unchanged, and the OpenAPI document
still comes from the routes. The error answers are those of the app's exception handlers (the same
problem, the same ``observe_error`` count), so a caller cannot tell the two paths apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import authzen, metrics
from .decision_log import DecisionLogUnavailable
from .problems import Problem

__all__ = ["LeanAuthZen", "log_unavailable"]

Route = Callable[[Request], Awaitable[Response]]

ROUTES: dict[str, Route] = {
    "/access/v1/evaluation": authzen.evaluation,
    "/access/v1/evaluations": authzen.evaluations,
}


def log_unavailable(exc: Exception) -> Response:
    """The 503 of a decision the log could not take (also the app's exception handler's answer)."""
    metrics.observe_error("decision-log-unavailable")
    return Problem(503, "decision-log-unavailable",
                   f"the decision log cannot accept this decision ({exc}); not decided (fail closed)",
                   headers={"Retry-After": "1"}).response()


class LeanAuthZen:
    """See the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTES.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if route is None or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        try:
            response = await route(Request(scope, receive))
        except Problem as exc:
            metrics.observe_error(exc.kind)
            response = exc.response()
        except DecisionLogUnavailable as exc:
            response = log_unavailable(exc)
        await response(scope, receive, send)
