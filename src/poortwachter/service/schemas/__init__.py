"""Pydantic models of the API, for the OpenAPI document (service.openapi puts :data:`MODELS` in its components).

The routes do not parse requests with these models: the hot path decodes with orjson and the core
validates with exact field paths. The models exist so that dossier-system developers (and the
schemathesis run in the test suite) see precisely what is accepted and what comes back. Allowed
values and verdict literals are derived from the core (vocabulary, verdict, compare), not copied.
"""

from __future__ import annotations

from pydantic import BaseModel

from .admin import ActivateRequest, BundleDetail, BundleList, Health, LoadReport, ShadowReport, ShadowRequest
from .answer import (
    ActionSearchResponse,
    Discovery,
    EntitySearchResponse,
    EvaluationResponse,
    EvaluationsResponse,
    ExplanationResponse,
    FilterResponse,
    Problem,
)
from .request import (
    ActionSearchRequest,
    EvaluationRequest,
    EvaluationsRequest,
    FilterRequest,
    ResourceSearchRequest,
    SubjectSearchRequest,
)

MODELS: tuple[type[BaseModel], ...] = (
    EvaluationRequest, EvaluationsRequest, FilterRequest, SubjectSearchRequest, ResourceSearchRequest,
    ActionSearchRequest, ActivateRequest, ShadowRequest, EvaluationResponse, EvaluationsResponse, ExplanationResponse,
    FilterResponse, EntitySearchResponse, ActionSearchResponse, Discovery, BundleList, BundleDetail, LoadReport,
    ShadowReport, Health, Problem,
)
