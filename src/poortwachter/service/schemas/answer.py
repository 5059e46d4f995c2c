"""The answers of the decision API (evaluation, batch, explanation, filter, search, discovery, problems),
for the OpenAPI document. ``core.answer`` writes these shapes from the core's verdict; the schemathesis run
checks every answer against them, so this copy cannot drift unseen.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ...core.policy.values import FactValue
from ...core.verdict import Effect


class Text(BaseModel):
    nl: str = Field(description="Dutch (the law's language, for clients).")
    en: str = Field(description="English.")


class BundleRef(BaseModel):
    name: str = Field(examples=["nl-jgz"])
    version: str = Field(examples=["2026.1.0"])
    revision: str = Field(description="sha256 of the artifact content.", examples=["sha256:9f2c…"])


class Reason(BaseModel):
    rule: str = Field(description="Deciding rule id; default-deny when no rule applied; evaluation-error when "
                      "the request could not be fully evaluated.")
    effect: Effect
    text: Text
    basis: list[str] = Field(description="Legal basis (articles).", examples=[["BW 7:457"]])
    source: list[str] = Field(description="Where in the sources the rule comes from.")


class ObligationProperties(BaseModel):
    text: Text


class Obligation(BaseModel):
    """AuthZEN Obligations profile shape. Mandatory: a caller that cannot carry it out must deny."""

    id: str = Field(description="e.g. log_access, record_in_dossier, consult_colleague, inform_client, "
                    "inzage_only, general_information_only, redact_third_party, justify_emergency_access, "
                    "respond_within_one_month.", examples=["log_access"])
    type: Literal["custom"]
    properties: ObligationProperties


class Missing(BaseModel):
    """A fact the caller could obtain that would turn this deny into an allow."""

    fact: str = Field(description="consent, attestation or the fact name.", examples=["consent"])
    from_: str | None = Field(None, alias="from", description="consent: whose consent (self, gezag, all_gezag, valid, about).")
    kind: str | None = Field(None, description="attestation: which kind.")
    path: str = Field(description="The derived fact, e.g. consent.self.")
    rule: str = Field(description="The rule that would then allow.")
    text: Text


class ItemError(BaseModel):
    status: int = Field(description="400 for a malformed evaluation, 500 for an internal error.")
    message: str
    field: str | None = Field(None, description="The offending field (dotted path).")
    pointer: str | None = Field(None, description="The offending field as a JSON Pointer.")
    expected: str | None = None
    got: str | None = None


class DecisionContext(BaseModel):
    decision_id: str = Field(description="Unique id of this decision, also in the decision log.")
    bundle: BundleRef | None = Field(None, description="The bundle version that decided.")
    reasons: list[Reason] | None = None
    obligations: list[Obligation] | None = None
    missing: list[Missing] | None = None
    errors: list[str] | None = Field(None, description="Rules that failed to evaluate (the answer is then deny).")
    error: ItemError | None = Field(None, description="Why this evaluation could not be decided (deny).")


class EvaluationResponse(BaseModel):
    """AuthZEN Access Evaluation response. A deny is 200 with decision false, never 403."""

    decision: bool
    context: DecisionContext


class EvaluationsResponse(BaseModel):
    evaluations: list[EvaluationResponse] = Field(description="In request order; shorter when a short-circuit "
                                                  "semantic stopped early.")


class RuleTrace(BaseModel):
    rule: str
    effect: Effect
    considered: bool = Field(description="False when the rule does not cover the action or category at all.")
    applied: bool
    failed: list[str] = Field(description="Conditions of the rule that did not hold.")


class ExplanationResponse(BaseModel):
    decision: bool
    context: DecisionContext
    facts: dict[str, FactValue] = Field(description="The derived facts the rules saw.")
    rules: list[RuleTrace] = Field(description="Every rule of the bundle and why it did or did not apply.")


class FilterResult(BaseModel):
    id: str
    decision: bool
    context: DecisionContext


class FilterResponse(BaseModel):
    allowed: list[str] = Field(description="Ids that may be shown (carry out their obligations).")
    denied: list[str] = Field(description="Ids to hide.")
    items: list[FilterResult] = Field(description="Every item in request order, with reasons and obligations.")


class EntityRef(BaseModel):
    type: str
    id: str


class ActionRef(BaseModel):
    name: str


class PageResponse(BaseModel):
    next_token: str = Field(description="Empty when there are no more results.")
    count: int = Field(description="Results in this response.")
    total: int = Field(description="Results matching in all.")


class EntitySearchResponse(BaseModel):
    results: list[EntityRef]
    page: PageResponse


class ActionSearchResponse(BaseModel):
    results: list[ActionRef]
    page: PageResponse


class Discovery(BaseModel):
    """AuthZEN PDP metadata."""

    policy_decision_point: str = Field(examples=["https://pdp.example.org"])
    access_evaluation_endpoint: str
    access_evaluations_endpoint: str
    search_subject_endpoint: str
    search_resource_endpoint: str
    search_action_endpoint: str


class FieldError(BaseModel):
    field: str = Field(description="The offending field, dotted (e.g. subject.properties.relation).")
    pointer: str = Field(description="The same as a JSON Pointer into the request body.")
    expected: str | None = None
    got: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem document (application/problem+json)."""

    type: str = Field(examples=["https://poortwachter.nl/problems/invalid-request"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
