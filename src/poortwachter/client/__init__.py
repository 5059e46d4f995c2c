"""A typed client for the Poortwachter decision API, sync (:class:`Client`) and asyncio (:class:`AsyncClient`).

    from poortwachter.client import Client, ClientError

    with Client("http://127.0.0.1:8181") as pdp:
        try:
            answer = pdp.evaluate({"subject": ..., "action": {"name": "read"}, "resource": ..., "context": ...})
            allowed = answer.permits({"log_access"})   # an allow whose obligations you carry out
        except ClientError:
            allowed = False                            # no decision: fail closed

It needs only httpx (``pip install 'poortwachter[client]'``) and never imports the service. Guide:
docs/clients/python.md; the API itself: docs/api.md.
"""

from __future__ import annotations

from .aio import AsyncClient
from .answer import (
    BundleRef,
    Decision,
    DecisionContext,
    Entity,
    Explanation,
    FilterAnswer,
    FilterItem,
    ItemError,
    Metadata,
    Missing,
    Obligation,
    Reason,
    RuleTrace,
    SearchAnswer,
    Text,
)
from .bundles import BundleDetail, BundleList, BundleSummary, BundleVersion, Health, LoadReport, ShadowReport
from .calls import DEFAULT_TIMEOUT
from .errors import (
    ClientError,
    Conflict,
    FieldError,
    Forbidden,
    InternalError,
    InvalidRequest,
    MalformedBody,
    MethodNotAllowed,
    NotFound,
    Problem,
    ProtocolError,
    RequestTimeout,
    Timeout,
    TooLarge,
    TransportError,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from .request import (
    Action,
    ActionSearchRequest,
    Context,
    EvaluationRequest,
    EvaluationsRequest,
    FilterRequest,
    Resource,
    ResourceSearchRequest,
    Subject,
    SubjectSearchRequest,
)
from .sync import Client

__all__ = [
    "DEFAULT_TIMEOUT", "Action", "ActionSearchRequest", "AsyncClient", "BundleDetail", "BundleList", "BundleRef",
    "BundleSummary", "BundleVersion", "Client", "ClientError", "Conflict", "Context", "Decision", "DecisionContext",
    "Entity", "EvaluationRequest", "EvaluationsRequest", "Explanation", "FieldError", "FilterAnswer", "FilterItem",
    "FilterRequest", "Forbidden", "Health", "InternalError", "InvalidRequest", "ItemError", "LoadReport",
    "MalformedBody", "Metadata", "MethodNotAllowed", "Missing", "NotFound", "Obligation", "Problem", "ProtocolError",
    "Reason", "RequestTimeout", "Resource", "ResourceSearchRequest", "RuleTrace", "SearchAnswer", "ShadowReport", "Subject",
    "SubjectSearchRequest", "Text", "Timeout", "TooLarge", "TransportError", "Unauthenticated", "Unavailable",
    "UnsupportedMediaType",
]
