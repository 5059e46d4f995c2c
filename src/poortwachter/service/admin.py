"""Bundle inspection (read: decision token if configured) and administration (admin token)."""

from __future__ import annotations

from datetime import datetime

from anyio import to_thread
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..core.calendar import AMSTERDAM
from ..core.errors import RequestError
from ..core.readers import obj, text
from .body import read_json
from .openapi import ADMIN_SECURITY, DECISION_SECURITY, answers, body
from .problems import Problem
from .route_kit import json_response, service
from .store import StoreConflict

router = APIRouter(prefix="/v1/bundles", tags=["Bundles"])


def _today() -> datetime:
    return datetime.now(AMSTERDAM)


@router.get("", operation_id="listBundles", summary="Loaded bundles", response_model=None, openapi_extra=DECISION_SECURITY,
            responses=answers("BundleList", 401, 403))
async def list_bundles(request: Request) -> Response:
    """Every bundle name with its active versions, the version in force today, whether an admin
    holds it, its last load error; and the files refused at the last load."""
    svc = service(request)
    svc.decision_guard.check(request)
    store = svc.store
    return json_response({"dossier_type_bundles": svc.settings.dossier_type_bundles, "generation": store.snapshot.generation,
                          "bundles": store.summary(_today().date()), "refused": store.refused,
                          "refused_artifacts": store.refused_artifacts(), "revision_set": store.snapshot.digest})


@router.post("/reload", operation_id="reloadBundles", summary="Reload the bundle folder now (admin)", response_model=None,
             openapi_extra=ADMIN_SECURITY, responses=answers("LoadReport", 401, 403, 413, 415))
async def reload(request: Request) -> Response:
    """Verify and compile every artifact in the folder off the request path and switch atomically;
    refused files are reported and never replace an active version. Other workers follow."""
    svc = service(request)
    svc.admin_guard.check(request)
    await read_json(request, svc.settings.max_body_bytes, authzen=False, optional=True)
    report = await to_thread.run_sync(svc.store.request_reload)
    return json_response(report.as_dict())


@router.get("/{name}", operation_id="getBundle", summary="One bundle: versions, revisions, history", response_model=None,
            openapi_extra=DECISION_SECURITY, responses=answers("BundleDetail", 401, 403, 404))
async def get_bundle(request: Request, name: str) -> Response:
    svc = service(request)
    svc.decision_guard.check(request)
    try:
        return json_response(svc.store.describe(name, _today().date()))
    except KeyError:
        raise Problem(404, "unknown-bundle", f"no bundle named {name!r}", field="name",
                      expected="a loaded bundle name", got=repr(name)) from None


def _known(request: Request, name: str) -> None:
    store = service(request).store
    if name not in store.snapshot.active and not any(x.name == name for x in store.known.values()):
        raise Problem(404, "unknown-bundle", f"no bundle named {name!r}", field="name",
                      expected="a loaded bundle name", got=repr(name))


@router.post("/{name}/activate", operation_id="activateBundle", summary="Activate a version or revision (admin)", response_model=None,
             openapi_extra={**body("ActivateRequest", required=False), **ADMIN_SECURITY},
             responses=answers("LoadReport", 400, 401, 403, 404, 409, 413, 415))
async def activate(request: Request, name: str) -> Response:
    """``{"version": "2026.1.0"}`` or ``{"revision": "sha256:…"}``: make that known artifact the
    active one for its version and hold the name there until a new artifact for it arrives.
    An empty body releases the hold: the folder decides again."""
    svc = service(request)
    svc.admin_guard.check(request)
    data = await read_json(request, svc.settings.max_body_bytes, authzen=False, optional=True)
    try:
        data = obj(data, "request", required=False)
        version = text(data, "version", "request", required=False)
        revision = text(data, "revision", "request", required=False)
    except RequestError as exc:
        raise Problem.from_request_error(exc) from None
    _known(request, name)
    try:
        report = await to_thread.run_sync(svc.store.activate, name, version, revision)
    except StoreConflict as exc:
        raise Problem(409, "conflict", str(exc), field="version" if version else "revision") from None
    except KeyError:
        raise Problem(404, "unknown-bundle", f"no bundle named {name!r}", field="name") from None
    return json_response(report.as_dict())


@router.post("/{name}/rollback", operation_id="rollbackBundle", summary="Roll back to the previous active state (admin)", response_model=None,
             openapi_extra=ADMIN_SECURITY, responses=answers("LoadReport", 401, 403, 404, 409, 413, 415))
async def rollback(request: Request, name: str) -> Response:
    """Back to the revisions that were active before the last change of this bundle; held until a
    new artifact for it arrives in the folder."""
    svc = service(request)
    svc.admin_guard.check(request)
    await read_json(request, svc.settings.max_body_bytes, authzen=False, optional=True)
    _known(request, name)
    try:
        report = await to_thread.run_sync(svc.store.rollback, name)
    except StoreConflict as exc:
        raise Problem(409, "conflict", str(exc), field="name") from None
    return json_response(report.as_dict())


# ------------------------------------------------------------------------------------------ shadow evaluation


def _no_shadow(name: str) -> Problem:
    return Problem(404, "no-shadow", f"no shadow evaluation of {name!r} in this worker (start one with "
                   f"POST /v1/bundles/{name}/shadow)", field="name")


@router.post("/{name}/shadow", operation_id="startShadow", summary="Start shadow evaluation of a candidate (admin)", response_model=None,
             openapi_extra={**body("ShadowRequest"), **ADMIN_SECURITY},
             responses=answers("ShadowReport", 400, 401, 403, 404, 409, 413, 415))
async def start_shadow(request: Request, name: str) -> Response:
    """``{"version": …}``, ``{"revision": "sha256:…"}`` or ``{"file": "candidates/….bundle.json"}`` (an
    artifact inside the bundle folder; a subfolder is not loaded by reloads): verify that candidate
    and, from now on, compare it with the active versions of the bundle on every decision they give,
    in the background. Answers never change. Replaces a running shadow of the same bundle; every
    worker follows (state folder)."""
    svc = service(request)
    svc.admin_guard.check(request)
    data = await read_json(request, svc.settings.max_body_bytes, authzen=False)
    try:
        data = obj(data, "request")
        version = text(data, "version", "request", required=False)
        revision = text(data, "revision", "request", required=False)
        file = text(data, "file", "request", required=False)
        if file is not None and "\x00" in file:  # no path holds a NUL byte (was a 500: embedded null byte)
            raise RequestError("file", "a path inside the bundle folder", file)
    except RequestError as exc:
        raise Problem.from_request_error(exc) from None
    if sum(x is not None for x in (version, revision, file)) != 1:
        raise Problem(400, "invalid-request", "request: give exactly one of version, revision or file",
                      field="request", expected="exactly one of version, revision, file")
    _known(request, name)
    try:
        await to_thread.run_sync(svc.store.start_shadow, name, version, revision, file)
    except StoreConflict as exc:
        raise Problem(409, "conflict", str(exc), field="version" if version else "revision" if revision else "file") \
            from None
    report = svc.shadow.report(name)
    if report is None:  # the store resolved it, so the runner follows it; only a concurrent stop gets here
        raise _no_shadow(name)
    return json_response(report)


@router.get("/{name}/shadow", operation_id="getShadowReport", summary="Shadow evaluation report (admin)", response_model=None,
            openapi_extra=ADMIN_SECURITY, responses=answers("ShadowReport", 401, 403, 404))
async def shadow_report(request: Request, name: str) -> Response:
    """This worker's comparison of the candidate with the active bundle: how many decisions were
    compared, how many would differ, each distinct difference with its count, and the latest
    differences with the facts that mattered. After a stop, the final report of the last shadow."""
    svc = service(request)
    svc.admin_guard.check(request)
    _known(request, name)
    report = svc.shadow.report(name)
    if report is None:
        raise _no_shadow(name)
    return json_response(report)


@router.delete("/{name}/shadow", operation_id="stopShadow", summary="Stop shadow evaluation (admin)", response_model=None,
               openapi_extra=ADMIN_SECURITY, responses=answers("ShadowReport", 401, 403, 404))
async def stop_shadow(request: Request, name: str) -> Response:
    """Stop comparing (in every worker); answers this worker's final report."""
    svc = service(request)
    svc.admin_guard.check(request)
    _known(request, name)
    try:
        await to_thread.run_sync(svc.store.stop_shadow, name)
    except KeyError:
        raise _no_shadow(name) from None
    report = svc.shadow.report(name)
    if report is None:
        raise _no_shadow(name)
    return json_response(report)
