"""The request bodies of the decision API as TypedDicts, with the names of docs/api.md.

Plain dicts on the wire and in your code: a type checker checks the keys, the service checks the
values (an unknown value of a known field is a 400 :class:`~poortwachter.client.InvalidRequest` naming
the field). Dates and times may be given as :class:`datetime.date` / :class:`datetime.datetime`; the
client writes them in ISO 8601. Keys that are Python keywords (``for`` of a consent or objection) use
the functional TypedDict form.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, NotRequired, Required, TypedDict

Time = str | datetime | date
Semantic = Literal["execute_all", "deny_on_first_deny", "permit_on_first_permit"]


class Subject(TypedDict, total=False):
    """Who asks: ``type`` person, professional or organisation; ``properties`` relation, gezag,
    identity_verified, discipline, treatment_relation, team, organisation, kind, in_care."""

    type: Required[str]
    id: Required[str]
    properties: dict[str, Any]


class Action(TypedDict, total=False):
    """What the subject wants to do: ``name`` read, copy, write, correct, annotate, disclose, destroy,
    read_log; ``properties`` recipient (disclose), setting, transfer, processing_activity_id."""

    name: Required[str]
    properties: dict[str, Any]


class Client(TypedDict, total=False):
    """The young person whose dossier it is (``resource.properties.client``)."""

    id: Required[str]
    birthdate: Required[str | date]
    deceased: bool
    date_of_death: str | date
    wilsonbekwaam: bool
    measures: list[str]
    gezaghebbenden: list[str]


class Resource(TypedDict, total=False):
    """What the action is on: ``type`` dossier_item or dossier; ``properties`` dossier_type (required),
    category, client, author, shielded_from, confidential_from_parents, about, …"""

    type: Required[str]
    id: Required[str]
    properties: Required[dict[str, Any]]


Consent = TypedDict("Consent", {
    "by": str, "for": str, "scope": str, "given_at": Time, "withdrawn_at": NotRequired[Time]})
Objection = TypedDict("Objection", {
    "by": str, "for": NotRequired[str], "scope": str, "form": NotRequired[str], "given_at": NotRequired[Time]})


class Attestation(TypedDict, total=False):
    kind: Required[str]
    by: str


class Context(TypedDict, total=False):
    """When and why, and the facts the caller brings. Absent ``time``: the service's now."""

    time: Time
    purpose: str
    consents: list[Consent]
    objections: list[Objection]
    attestations: list[Attestation]
    channel: str
    authn_level: str
    bundle: str
    traceparent: str


class EvaluationRequest(TypedDict, total=False):
    """One decision (``POST /access/v1/evaluation``; also the body of ``POST /v1/decisions``)."""

    subject: Required[Subject]
    action: Required[Action]
    resource: Required[Resource]
    context: Context


class EvaluationItem(TypedDict, total=False):
    """One item of a batch: each key given replaces the batch's default of that key."""

    subject: Subject
    action: Action
    resource: Resource
    context: Context


class EvaluationsOptions(TypedDict, total=False):
    evaluations_semantic: Semantic


class EvaluationsRequest(TypedDict, total=False):
    """Many decisions (``POST /access/v1/evaluations``): the top-level entities are defaults."""

    subject: Subject
    action: Action
    resource: Resource
    context: Context
    evaluations: Required[list[EvaluationItem]]
    options: EvaluationsOptions


class FilterItem(TypedDict, total=False):
    id: Required[str]
    type: str
    properties: dict[str, Any]


class ResourceTemplate(TypedDict, total=False):
    type: str
    properties: dict[str, Any]


class FilterRequest(TypedDict, total=False):
    """Which items or field categories one subject may see (``POST /v1/filter``): ``items`` or ``categories``."""

    subject: Required[Subject]
    action: Required[Action]
    resource: ResourceTemplate
    context: Context
    items: list[FilterItem]
    categories: list[str]


class SearchEntity(TypedDict, total=False):
    type: Required[str]
    id: str
    properties: dict[str, Any]


class Candidate(TypedDict, total=False):
    """A Poortwachter extension: an entity to search among (``id`` for subjects and resources, ``name`` for actions)."""

    id: str
    name: str
    type: str
    properties: dict[str, Any]


class Page(TypedDict, total=False):
    token: str
    limit: int


class SubjectSearchRequest(TypedDict, total=False):
    subject: Required[SearchEntity]
    action: Required[Action]
    resource: Required[SearchEntity]
    context: Context
    page: Page
    candidates: list[Candidate]


class ResourceSearchRequest(TypedDict, total=False):
    subject: Required[SearchEntity]
    action: Required[Action]
    resource: Required[SearchEntity]
    context: Context
    page: Page
    candidates: list[Candidate]


class ActionSearchRequest(TypedDict, total=False):
    subject: Required[SearchEntity]
    resource: Required[SearchEntity]
    context: Context
    page: Page
    candidates: list[Candidate]
