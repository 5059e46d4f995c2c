"""The native API: explained decisions and field filtering for dossier screens."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import RequestError
from .batch import check_work
from .body import read_json
from .filtering import filter_requests, run_filter
from .openapi import DECISION_SECURITY, answers, body
from .problems import Problem
from .route_kit import RawRoute, call, json_response, service

router = APIRouter(prefix="/v1", tags=["Native"], route_class=RawRoute)


@router.post("/decisions", operation_id="explain", summary="Decide and explain", response_model=None,
             openapi_extra={**body("EvaluationRequest"), **DECISION_SECURITY},
             responses=answers("ExplanationResponse", 400, 401, 403, 413, 415, 503))
async def decisions(request: Request) -> Response:
    """An AuthZEN evaluation request answered with the full explanation: the derived facts, every
    rule of the bundle (considered or not, applied or not, which conditions failed) and the missing
    facts. Slower than /access/v1/evaluation (no cache); meant for people, not for every screen.

    With the decision token (if configured) it explains a decision now, within the clock skew. With
    the history token it answers "what would have been decided then": any ``context.time``, and a
    pinned ``name@version``; its log record says it was a look at the past, not an access."""
    svc = service(request)
    history = svc.history_guard.presented(request)
    if not history:
        svc.decision_guard.check(request)
    data = await read_json(request, svc.settings.max_body_bytes, authzen=False)
    try:
        return json_response(svc.decider.explain(data, call(request, "decisions", history=history)))
    except RequestError as exc:
        raise Problem.from_request_error(exc) from None


@router.post("/filter", operation_id="filter", summary="Which items or field categories may be shown", response_model=None,
             openapi_extra={**body("FilterRequest"), **DECISION_SECURITY},
             responses=answers("FilterResponse", 400, 401, 403, 413, 415, 503))
async def filter_items(request: Request) -> Response:
    """One subject and action over up to ``max_filter_items`` dossier items (``items``) or field
    categories (``categories``): what an EPD screen needs to hide fields in one call. Every item is
    an ordinary decision (cached, logged); a malformed item is denied with ``context.error``."""
    svc = service(request)
    svc.decision_guard.check(request)
    data = await read_json(request, svc.settings.max_body_bytes, authzen=False)
    try:
        ids, requests = filter_requests(data, svc.settings.max_filter_items)
    except RequestError as exc:
        if exc.path in ("items", "categories") and exc.expected.startswith("at most"):
            raise Problem(413, "batch-too-large", str(exc), field=exc.path, expected=exc.expected, got=exc.got) from None
        raise Problem.from_request_error(exc) from None
    check_work(requests, svc.settings.max_batch_work, "request")
    return json_response(await run_filter(svc.decider, ids, requests, call(request, "filter")))
