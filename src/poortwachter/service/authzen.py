"""OpenID AuthZEN Authorization API 1.0: evaluation, evaluations, search and discovery.

Thin routes: check the token, read the body, expand a batch's defaults (the only AuthZEN logic that
lives here, because it is protocol, not policy), let the Decider answer, render. A deny is
``200 {"decision": false}``; a malformed single request is a 400 problem; a malformed batch item is
a deny with ``context.error`` in its place (certification C.3.4.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import RequestError
from ..core.readers import obj
from .batch import check_work, decide_paced
from .body import read_json
from .decider import SEMANTICS
from .filtering import ENTITY_KEYS, Search
from .openapi import DECISION_SECURITY, answers, body
from .problems import Problem
from .route_kit import RawRoute, call, json_response, service

router = APIRouter(tags=["AuthZEN"], route_class=RawRoute)

#: per-item keys whose absence falls back to the default entity's (certification C.3.2.7)
_REQUIRED = {"subject": ("type", "id"), "action": ("name",), "resource": ("type", "id")}


def _override(default: Any, value: Any, key: str) -> Any:
    """Entity-level replacement; a required identifier missing from the item comes from the default."""
    if key in _REQUIRED and isinstance(value, Mapping) and isinstance(default, Mapping):
        missing = [k for k in _REQUIRED[key] if k not in value and k in default]
        if missing:
            return {**value, **{k: default[k] for k in missing}}
    return value


def expand(data: Any, max_batch: int) -> tuple[list[Any] | None, str]:
    """(evaluation requests with defaults applied, semantic); None when the body is a single request."""
    data = obj(data, "request")
    options = obj(data.get("options"), "options", required=False)
    semantic = options.get("evaluations_semantic", "execute_all")
    if semantic not in SEMANTICS:
        raise RequestError("options.evaluations_semantic", "one of " + ", ".join(SEMANTICS), semantic)
    evaluations = data.get("evaluations")
    if evaluations is None or evaluations == []:
        return None, semantic
    if not isinstance(evaluations, list):
        raise RequestError("evaluations", "a list of evaluation objects", evaluations)
    if len(evaluations) > max_batch:
        raise Problem(413, "batch-too-large", f"{len(evaluations)} evaluations; at most {max_batch} per call",
                      field="evaluations", expected=f"at most {max_batch} items", got=f"{len(evaluations)} items")
    defaults = {k: data[k] for k in ENTITY_KEYS if k in data}
    if not defaults:  # nothing to merge: each item is its own request (the core reads only these four keys)
        return list(evaluations), semantic
    items: list[Any] = []
    for item in evaluations:
        if not isinstance(item, Mapping):
            items.append(item)  # answered in place as a malformed evaluation
            continue
        merged = dict(defaults)
        for key in ENTITY_KEYS:
            if key in item:
                merged[key] = _override(defaults.get(key), item[key], key)
        items.append(merged)
    return items, semantic


@router.post("/access/v1/evaluation", operation_id="evaluate", summary="Access Evaluation (AuthZEN §6)", response_model=None,
             openapi_extra={**body("EvaluationRequest"), **DECISION_SECURITY},
             responses=answers("EvaluationResponse", 400, 401, 403, 413, 503))
async def evaluation(request: Request) -> Response:
    """One decision. ``context`` of the answer: decision_id, bundle, reasons (deciding rules and their
    legal basis), obligations (mandatory), missing (facts that would turn a deny into an allow)."""
    svc = service(request)
    svc.decision_guard.check(request)
    data = await read_json(request, svc.settings.max_body_bytes, authzen=True)
    try:
        return json_response(svc.decider.decide(data, call(request, "evaluation")))
    except RequestError as exc:
        raise Problem.from_request_error(exc) from None


@router.post("/access/v1/evaluations", operation_id="evaluateBatch", summary="Access Evaluations (AuthZEN §7)", response_model=None,
             openapi_extra={**body("EvaluationsRequest"), **DECISION_SECURITY},
             responses=answers(["EvaluationsResponse", "EvaluationResponse"], 400, 401, 403, 413, 503))
async def evaluations(request: Request) -> Response:
    """Many decisions in request order. Without ``evaluations`` (or with an empty list) the body is
    a single evaluation and the answer has the single shape."""
    svc = service(request)
    svc.decision_guard.check(request)
    data = await read_json(request, svc.settings.max_body_bytes, authzen=True)
    try:
        items, semantic = expand(data, svc.settings.max_batch)
        if items is None:
            return json_response(svc.decider.decide(data, call(request, "evaluations")))
    except RequestError as exc:
        raise Problem.from_request_error(exc) from None
    check_work(items, svc.settings.max_batch_work, "evaluations")
    answers = await decide_paced(svc.decider, items, call(request, "evaluations"), semantic)
    return json_response({"evaluations": answers})


async def _search(request: Request, kind: str) -> Response:
    svc = service(request)
    svc.decision_guard.check(request)
    data = await read_json(request, svc.settings.max_body_bytes, authzen=True)
    settings = svc.settings
    catalog = svc.decider.catalog()  # one revision for the whole search
    try:
        search = Search(kind, data, settings.search_page_size, settings.max_filter_items)
        if not search.recognised(svc.inventory):
            return json_response(await search.page(svc.decider, [], [], call(request, f"search/{kind}"), catalog))
        inventory = svc.inventory.of(kind + "s", None if kind == "action" else search.body[kind].get("type"))
        actions: tuple[str, ...] = ()
        youth_care = False
        if search.candidates is None and not inventory and kind in ("action", "resource"):
            probe = search.body if kind != "resource" else {**search.body, "resource": {
                **search.body["resource"], "id": search.body["resource"].get("id") or "-"}}
            vocabulary = svc.decider.bundle_for(probe, catalog).bundle.vocabulary
            actions, youth_care = vocabulary.actions, vocabulary.youth_care
        entities, requests = search.requests(search.default_candidates(inventory, actions, youth_care))
    except RequestError as exc:
        raise Problem.from_request_error(exc) from None
    check_work(requests, settings.max_batch_work, "request")
    return json_response(await search.page(svc.decider, entities, requests, call(request, f"search/{kind}"), catalog))


_SEARCH_DOC = ("Candidates come from the request's ``candidates`` (Poortwachter extension), else from the "
               "configured search inventory, else from the bundle's vocabulary. Paged: ``page.limit``, "
               "``page.token`` ← ``page.next_token`` (empty at the end).")


@router.post("/access/v1/search/subject", operation_id="searchSubjects", summary="Subject Search (AuthZEN)", response_model=None,
             description="Which subjects of ``subject.type`` may do ``action`` on ``resource``. " + _SEARCH_DOC,
             openapi_extra={**body("SubjectSearchRequest"), **DECISION_SECURITY},
             responses=answers("EntitySearchResponse", 400, 401, 403, 413, 503))
async def search_subject(request: Request) -> Response:
    return await _search(request, "subject")


@router.post("/access/v1/search/resource", operation_id="searchResources", summary="Resource Search (AuthZEN)", response_model=None,
             description=("Which resources of ``resource.type`` may ``subject`` do ``action`` on: the standard "
                          "face of /v1/filter. " + _SEARCH_DOC),
             openapi_extra={**body("ResourceSearchRequest"), **DECISION_SECURITY},
             responses=answers("EntitySearchResponse", 400, 401, 403, 413, 503))
async def search_resource(request: Request) -> Response:
    return await _search(request, "resource")


@router.post("/access/v1/search/action", operation_id="searchActions", summary="Action Search (AuthZEN)", response_model=None,
             description="Which actions may ``subject`` do on ``resource``. " + _SEARCH_DOC,
             openapi_extra={**body("ActionSearchRequest"), **DECISION_SECURITY},
             responses=answers("ActionSearchResponse", 400, 401, 403, 413, 503))
async def search_action(request: Request) -> Response:
    return await _search(request, "action")


@router.get("/.well-known/authzen-configuration", operation_id="getMetadata", summary="PDP metadata (AuthZEN discovery)",
            response_model=None, responses=answers("Discovery"))
async def discovery(request: Request) -> Response:
    """Endpoint URLs under ``public_url`` (configure it to the external https URL behind a TLS
    proxy), else under the URL this request came in on."""
    svc = service(request)
    base = (svc.settings.public_url or str(request.base_url)).rstrip("/")
    return json_response({
        "policy_decision_point": base,
        "access_evaluation_endpoint": f"{base}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{base}/access/v1/evaluations",
        "search_subject_endpoint": f"{base}/access/v1/search/subject",
        "search_resource_endpoint": f"{base}/access/v1/search/resource",
        "search_action_endpoint": f"{base}/access/v1/search/action",
    })
