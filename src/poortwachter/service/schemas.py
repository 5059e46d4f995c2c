"""Pydantic models of the API, for the OpenAPI document: every attribute of the contract's vocabulary
with its type, allowed values (imported from core.vocabulary, so the docs cannot drift from what the
parser accepts), meaning and an example.

The routes do not parse requests with these models: the hot path decodes with orjson and the core
validates with exact field paths. The models exist so that dossier-system developers (and the
schemathesis run in the test suite) see precisely what is accepted and what comes back.
Allowed values are those of the youth-care vocabulary; bundles with a custom vocabulary (the AuthZEN
certification fixture) accept their own types, actions and properties.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core import vocabulary as v

Relation = Literal[v.RELATIONS]  # type: ignore[valid-type]
Discipline = Literal[v.DISCIPLINES]  # type: ignore[valid-type]
OrganisationKind = Literal[v.ORGANISATION_KINDS]  # type: ignore[valid-type]
ActionName = Literal[v.ACTIONS]  # type: ignore[valid-type]
Category = Literal[v.CATEGORIES]  # type: ignore[valid-type]
AuthorKind = Literal[v.AUTHOR_KINDS]  # type: ignore[valid-type]
Measure = Literal[v.MEASURES]  # type: ignore[valid-type]
Purpose = Literal[v.PURPOSES]  # type: ignore[valid-type]
AuthnLevel = Literal[v.AUTHN_LEVELS]  # type: ignore[valid-type]
Attestation = Literal[v.ATTESTATIONS]  # type: ignore[valid-type]
SubjectType = Literal[v.SUBJECT_TYPES]  # type: ignore[valid-type]
ResourceType = Literal[v.RESOURCE_TYPES]  # type: ignore[valid-type]
DossierType = Literal[v.DOSSIER_TYPES]  # type: ignore[valid-type]
Semantic = Literal["execute_all", "deny_on_first_deny", "permit_on_first_permit"]

ISO_DATE = r"^\d{4}-\d{2}-\d{2}"
NonEmpty = Field(min_length=1)


class _Open(BaseModel):
    """AuthZEN forward compatibility: unknown fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")


# ------------------------------------------------------------------------------------------ request


class SubjectProperties(_Open):
    """Properties of a subject (or of a disclosure recipient, which has the same shape)."""

    relation: Relation | None = Field(None, description=(
        "Person: relation to the client of the dossier. self = the jeugdige/client; ouder = legal parent; "
        "voogd = guardian; pleegouder = foster parent; jeugdbeschermer = child protection worker (formerly "
        "gezinsvoogd); partner_van_ouder = new partner or step-parent; biologische_ouder = not a legal parent; "
        "nabestaande = surviving relative; vertegenwoordiger = representative of a client 12+ who is "
        "wilsonbekwaam; derde = anyone else."), examples=["ouder"])
    gezag: bool | None = Field(None, description="Person holds parental authority (ouderlijk gezag or voogdij). "
                               "Default false.", examples=[True])
    identity_verified: bool | None = Field(None, description=(
        "The caller checked the person's identity; needed before inzage or afschrift is given to a person. "
        "Default false."), examples=[True])
    discipline: Discipline | None = Field(None, description="Professional: the discipline acting.",
                                          examples=["jeugdarts"])
    treatment_relation: bool | None = Field(None, description=(
        "Professional: directly involved in the client's care (behandelrelatie). Default false."), examples=[True])
    team: str | None = Field(None, description=(
        f"Professional: team; known values {', '.join(v.TEAMS)}, any other name reads as 'other'."),
        examples=["jgz-0-4"])
    organisation: str | None = Field(None, description="Professional: the organisation they work for (free text).",
                                     examples=["GGD Hollands Midden"])
    kind: OrganisationKind | None = Field(None, description=(
        "Organisation: what kind of institution requests or receives (e.g. veilig_thuis, school, huisarts)."),
        examples=["veilig_thuis"])
    in_care: bool | None = Field(None, description=(
        "Organisation as recipient: the child is actually in care there (a dossier transfer must go there)."),
        examples=[True])


class Subject(_Open):
    """AuthZEN Subject: who asks."""

    type: SubjectType = Field(description=(
        "person: a client, parent or other private person; professional: a care professional acting in a role; "
        "organisation: an institution as requester or recipient."), examples=["person"])
    id: str = Field(min_length=1, description="Identifier of the subject, scoped to its type.", examples=["p-123"])
    properties: SubjectProperties | None = Field(None, description="Attributes the policy needs.")


class Recipient(Subject):
    """The third party a disclosure goes to (action disclose)."""


class Transfer(_Open):
    reason: str | None = Field(None, description=(
        f"Why the dossier moves; known values {', '.join(v.TRANSFER_REASONS[:-1])}, others read as 'other'."),
        examples=["verhuizing"])
    new_school_known: bool | None = Field(None, description="The new school is known. Default false.")


class ActionProperties(_Open):
    recipient: Recipient | None = Field(None, description="disclose only (required there): who receives.")
    setting: str | None = Field(None, description=(
        "Where the action happens; known value mdo (multidisciplinary meeting), others read as 'other'."),
        examples=["mdo"])
    transfer: Transfer | None = Field(None, description="Dossier transfer details.")
    processing_activity_id: str | None = Field(None, description=(
        "NLGov AuthZEN profile: the id of the processing activity in the AVG register (art. 30); logged."),
        examples=["pa-jgz-inzage"])


class Action(_Open):
    """AuthZEN Action: what the subject wants to do."""

    name: ActionName = Field(description=(
        "read = inzage; copy = afschrift; write = add an entry; correct = correct factual data; annotate = add "
        "an own statement (eigen verklaring); disclose = verstrekken to a third party; destroy = vernietigen; "
        "read_log = see who accessed the dossier."), examples=["read"])
    properties: ActionProperties | None = None


class Client(_Open):
    """The young person whose dossier it is."""

    id: str = Field(min_length=1, description="Client id.", examples=["c-9"])
    birthdate: date = Field(description="ISO date; the service computes the age at context.time "
                            "(Europe/Amsterdam calendar).", examples=["2012-05-30"])
    deceased: bool | None = Field(None, description="The client has died. Default false.")
    date_of_death: date | None = Field(None, description="ISO date of death; counts from that day.")
    wilsonbekwaam: bool | None = Field(None, description="The client cannot reasonably judge their interests.")
    measures: list[Measure] | None = Field(None, description="Child protection measures in force.",
                                           examples=[["ots"]])
    gezaghebbenden: list[str] | None = Field(None, description=(
        "Ids of the persons holding gezag, so consents and objections can be checked to come from one."),
        examples=[["p-123", "p-124"]])


class Author(_Open):
    id: str | None = Field(None, description="Who entered the item.", examples=["prof-7"])
    kind: AuthorKind | None = Field(None, description="What kind of party entered it.", examples=["professional"])


class About(_Open):
    id: str | None = Field(None, description="The person the item is about, when not the client.")
    relation: Relation | None = Field(None, description="That person's relation to the client.")


class ResourceProperties(_Open):
    dossier_type: DossierType = Field(description="jgz = Digitaal Dossier JGZ; jeugdhulp = youth care dossier.",
                                      examples=["jgz"])
    category: Category | None = Field(None, description=(
        "What the item is; required for type dossier_item, absent for the whole dossier."),
        examples=["gespreksverslag"])
    client: Client
    author: Author | None = None
    shielded_from: list[str] | None = Field(None, description=(
        "Subject ids the professional has shielded this item from (afgeschermd)."), examples=[["p-124"]])
    confidential_from_parents: bool | None = Field(None, description=(
        "Agreed with the young person that this item is not shared with the parents. Default false."))
    last_change: date | None = Field(None, description="Date of the last change of the dossier (retention).")
    treatment_end: date | None = Field(None, description="End of treatment, where known (retention).")
    created_at: str | None = Field(None, description="When the item (or log line) was made (ISO 8601).")
    written_at: str | None = Field(None, description="When the item was written (ISO 8601).")
    about: About | None = Field(None, description="When the item is about another person than the client.")
    custodian: str | None = Field(None, description="The organisation that holds the dossier.")


class Resource(_Open):
    """AuthZEN Resource: what the action is on."""

    type: ResourceType = Field(description="dossier_item = one field or entry; dossier = the whole dossier.",
                               examples=["dossier_item"])
    id: str = Field(min_length=1, description="Identifier of the item or dossier.",
                    examples=["d-9/gespreksverslag/2026-03-01"])
    properties: ResourceProperties


class Consent(_Open):
    by: str = Field(min_length=1, description="Id of the consenting person.", examples=["c-9"])
    for_: str = Field(alias="for", min_length=1, description=(
        "Id, or role (relation, discipline or organisation kind), of whoever may then act or receive."),
        examples=["ouder"])
    scope: str = Field(min_length=1, description="A category, 'dossier', or 'research' (covers purpose research).",
                       examples=["dossier"])
    given_at: str = Field(pattern=ISO_DATE, description="From when it counts (ISO date or date-time).",
                          examples=["2026-01-10T09:00:00+01:00"])
    withdrawn_at: str | None = Field(None, pattern=ISO_DATE, description=(
        "Withdrawal; works only for the future (consent counts while given_at <= time < withdrawn_at)."))


class Objection(_Open):
    by: str = Field(min_length=1, description="Id of the objecting person.", examples=["c-9"])
    for_: str | None = Field(None, alias="for", min_length=1, description=(
        "Id or role the objection is against. Absent: aimed at no one in particular (e.g. research use); "
        "it then never counts against a professional."), examples=["ouder"])
    scope: str = Field(min_length=1, description="A category, 'dossier' or 'research'.", examples=["dossier"])
    form: str | None = Field(None, description="How it was made (e.g. mondeling, schriftelijk).")
    given_at: str | None = Field(None, pattern=ISO_DATE, description="From when it applies. Absent: in force.",
                                 examples=["2026-02-01"])


class AttestationItem(_Open):
    kind: Attestation = Field(description=(
        "A fact only a professional can establish: emergency, complaint_defence, informatieplicht, meldrecht, "
        "client_informed (the client was told what is shared, with whom and why), colleague_consulted, "
        "serious_harm, not_good_care (sharing would not fit a goed hulpverlener), excessive_request, "
        "significant_interest_other, court_order, legal_retention_duty (a statutory provision opposes "
        "destruction, BW 7:455 lid 2)."), examples=["client_informed"])
    by: str | None = Field(None, description="Id of the attesting professional.", examples=["prof-7"])


class Context(_Open):
    """AuthZEN Context: when, why, and the facts the caller brings."""

    time: str | None = Field(None, pattern=ISO_DATE, description=(
        "The decision is taken as of this moment (age, consents, bundle version in force). Default: now, "
        "Europe/Amsterdam; an offset-less time is Amsterdam time."), examples=["2026-11-22T10:00:00+01:00"])
    purpose: Purpose | None = Field(None, description="Why the action is taken.", examples=["care"])
    consents: list[Consent] | None = Field(None, description="Consents given (and possibly withdrawn).")
    objections: list[Objection] | None = Field(None, description="Objections made, e.g. by the young person.")
    attestations: list[AttestationItem] | None = Field(None, description="Professional attestations.")
    channel: str | None = Field(None, description=(
        f"Channel of a request by a person; known values {', '.join(v.CHANNELS[:-1])}; others read as 'other'."),
        examples=["klantportaal"])
    authn_level: AuthnLevel | None = Field(None, description="eIDAS authentication level of a person's login.",
                                           examples=["substantieel"])
    bundle: str | None = Field(None, description="Bundle to decide with: name or name@version "
                               "(default: the service's default bundle).", examples=["nl-jgz@2026.1.0"])
    traceparent: str | None = Field(None, description="W3C Trace Context (NLGov profile); logged with the decision.",
                                    examples=["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"])


EVALUATION_EXAMPLE: dict[str, Any] = {
    "subject": {"type": "person", "id": "p-123", "properties": {"relation": "ouder", "gezag": True}},
    "action": {"name": "read"},
    "resource": {"type": "dossier_item", "id": "d-9/gespreksverslag/2026-03-01", "properties": {
        "dossier_type": "jgz", "category": "gespreksverslag",
        "client": {"id": "c-9", "birthdate": "2016-05-30"},
        "author": {"id": "prof-7", "kind": "professional"}, "shielded_from": [],
        "confidential_from_parents": False}},
    "context": {"time": "2026-11-22T10:00:00+01:00", "purpose": "care", "consents": [], "objections": [],
                "attestations": []},
}


class EvaluationRequest(_Open):
    """AuthZEN Access Evaluation request (§6)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [EVALUATION_EXAMPLE]})

    subject: Subject
    action: Action
    resource: Resource
    context: Context | None = None


class EvaluationItem(_Open):
    """One evaluation of a batch: each key given replaces the top-level default of that key (whole
    entity; a missing type/id/name falls back to the default's)."""

    subject: Subject | None = None
    action: Action | None = None
    resource: Resource | None = None
    context: Context | None = None


class EvaluationsOptions(_Open):
    evaluations_semantic: Semantic | None = Field("execute_all", description=(
        "execute_all: answer every item; deny_on_first_deny: stop after the first deny (or error); "
        "permit_on_first_permit: stop after the first permit."))


class EvaluationsRequest(_Open):
    """AuthZEN Access Evaluations request (§7): top-level keys are defaults for every item."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "subject": EVALUATION_EXAMPLE["subject"], "action": {"name": "read"},
        "context": EVALUATION_EXAMPLE["context"], "options": {"evaluations_semantic": "execute_all"},
        "evaluations": [{"resource": EVALUATION_EXAMPLE["resource"]},
                        {"resource": {**EVALUATION_EXAMPLE["resource"], "id": "d-9/groei/2026-02-01",
                                      "properties": {**EVALUATION_EXAMPLE["resource"]["properties"],
                                                     "category": "groei"}}}]}]})

    subject: Subject | None = None
    action: Action | None = None
    resource: Resource | None = None
    context: Context | None = None
    evaluations: list[EvaluationItem] | None = Field(None, description=(
        "The evaluations, answered in this order. Absent or empty: the request is a single evaluation."))
    options: EvaluationsOptions | None = None


class FilterItem(_Open):
    id: str = Field(min_length=1, description="Item id, echoed in the answer.", examples=["d-9/groei/2026-02-01"])
    type: ResourceType | None = Field(None, description="Default: the template's type, else dossier_item.")
    properties: dict[str, Any] | None = Field(None, description=(
        "Resource properties of this item (see ResourceProperties); they override the template's."),
        examples=[{"category": "groei"}])


class ResourceTemplate(_Open):
    type: ResourceType | None = Field(None, description="Default type of the items.")
    id: str | None = Field(None, description="Ignored.")
    properties: dict[str, Any] | None = Field(None, description=(
        "Properties shared by every item (dossier_type, client, author …, see ResourceProperties)."),
        examples=[{"dossier_type": "jgz", "client": {"id": "c-9", "birthdate": "2016-05-30"}}])


class FilterRequest(_Open):
    """One subject and action over many dossier items or field categories."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "subject": EVALUATION_EXAMPLE["subject"], "action": {"name": "read"},
        "resource": {"type": "dossier_item", "properties": {
            "dossier_type": "jgz", "client": {"id": "c-9", "birthdate": "2016-05-30"}}},
        "context": EVALUATION_EXAMPLE["context"],
        "categories": ["groei", "vaccinatie", "gespreksverslag", "geheim_adres"]}]})

    subject: Subject
    action: Action
    resource: ResourceTemplate | None = None
    context: Context | None = None
    items: list[FilterItem] | None = Field(None, max_length=1000, description="Dossier items to check.")
    categories: list[Category] | None = Field(None, max_length=1000, description=(
        "Field categories to check (each answered under its own name as id)."))


class SearchEntity(_Open):
    type: str = Field(min_length=1, description="Entity type.")
    id: str | None = Field(None, description="Identifier (required where the entity is fixed, ignored where searched).")
    properties: dict[str, Any] | None = None


class SearchAction(_Open):
    name: str = Field(min_length=1, description="Action name.")
    properties: dict[str, Any] | None = None


class PageRequest(_Open):
    token: str | None = Field(None, description="next_token of a previous response.")
    limit: int | None = Field(None, ge=0, description="Most results to return (0 or absent: the default page size).")


class Candidate(_Open):
    id: str | None = Field(None, description="Id (subjects, resources).")
    name: str | None = Field(None, description="Name (actions).")
    type: str | None = None
    properties: dict[str, Any] | None = None


class _Search(_Open):
    context: Context | None = None
    page: PageRequest | None = None
    candidates: list[Candidate] | None = Field(None, max_length=1000, description=(
        "Poortwachter extension: the entities to search among (a stateless PDP knows no dossier). "
        "Absent: the configured search inventory, else (actions) the bundle's actions or (youth-care "
        "resources) the vocabulary's categories."))


class SubjectSearchRequest(_Search):
    """AuthZEN Subject Search: which subjects of subject.type may do action on resource."""

    subject: SearchEntity
    action: SearchAction
    resource: SearchEntity


class ResourceSearchRequest(_Search):
    """AuthZEN Resource Search: which resources of resource.type may subject do action on."""

    subject: SearchEntity
    action: SearchAction
    resource: SearchEntity


class ActionSearchRequest(_Search):
    """AuthZEN Action Search: which actions may subject do on resource."""

    subject: SearchEntity
    resource: SearchEntity


class ActivateRequest(_Open):
    version: str | None = Field(None, description="Make this version's newest known revision active.")
    revision: str | None = Field(None, description="Make exactly this revision (sha256:…) active.")


class ShadowRequest(_Open):
    """The candidate to evaluate beside the active versions: exactly one of the three."""

    version: str | None = Field(None, description="A known version of the bundle (its newest known revision), e.g. "
                                "one loaded but not yet in force.", examples=["2027.1.0"])
    revision: str | None = Field(None, description="Exactly this known or archived revision (sha256:…).")
    file: str | None = Field(None, description=(
        "A signed artifact inside the bundle folder, relative to it; put candidates in a subfolder (e.g. "
        "candidates/), which reloads do not load. Verified like every artifact."),
        examples=["candidates/nl-jgz-2026.2.0.bundle.json"])


# ------------------------------------------------------------------------------------------ response


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
    effect: Literal["allow", "deny"]
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
    effect: Literal["allow", "deny"]
    considered: bool = Field(description="False when the rule does not cover the action or category at all.")
    applied: bool
    failed: list[str] = Field(description="Conditions of the rule that did not hold.")


class ExplanationResponse(BaseModel):
    decision: bool
    context: DecisionContext
    facts: dict[str, str | bool | int] = Field(description="The derived facts the rules saw.")
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


class LoadError(BaseModel):
    file: str
    error: str
    at: str


class BundleSummary(BaseModel):
    name: str
    active: list[str] = Field(description="Active versions.")
    in_force: str | None = Field(description="The version in force today.")
    versions: list[str]
    held: bool = Field(description="Pinned by an admin rollback/activate.")
    last_error: LoadError | None


class BundleList(BaseModel):
    dossier_type_bundles: dict[str, str] = Field(description="The bundle that decides each dossier type.")
    generation: int = Field(description="Increments with every switch of the active set.")
    bundles: list[BundleSummary]
    refused: dict[str, str] = Field(description="Files refused at the last load, and why.")
    refused_artifacts: list[RefusedArtifact] = Field(description=(
        "Files refused now, with since when; the last good version of each stays active."))
    revision_set: str = Field(description="Digest of the active set: equal in every worker deciding with it.")


class RefusedArtifact(BaseModel):
    file: str
    reason: str
    since: str = Field(description="When this worker first refused the file for this reason.")


class VersionInfo(BaseModel):
    version: str
    effective_from: str
    revision: str
    sha256: str
    key_id: str
    source_revision: str
    file: str
    loaded_at: str
    active: bool
    in_force: bool


class HoldInfo(BaseModel):
    revisions: list[str]
    reason: str
    at: str


class BundleDetail(BaseModel):
    name: str
    active: list[str]
    in_force: str | None
    versions: list[VersionInfo] = Field(description="Every known revision (active or kept for rollback).")
    held: HoldInfo | None
    history: list[list[str]] = Field(description="Earlier active revision sets, newest first.")
    last_error: LoadError | None


class ShadowCandidate(BaseModel):
    version: str
    revision: str
    effective_from: str
    file: str = Field(description="Where it was loaded from (a file, the bundle folder or archive:<revision>).")


class ShadowVerdict(BaseModel):
    bundle: str = Field(description="name@version", examples=["nl-jgz@2026.1.0"])
    decision: bool
    rules: list[str] = Field(description="Deciding rules (default-deny when no rule applied).")
    obligations: list[str]


class ShadowChange(BaseModel):
    """One distinct difference and how often it occurred."""

    count: int
    kind: Literal["decision", "rules", "obligations"] = Field(
        description="decision: allow ↔ deny; rules: same decision, other deciding rules; obligations: only those.")
    active: ShadowVerdict = Field(description="What was answered.")
    candidate: ShadowVerdict = Field(description="What the candidate would have answered.")


class ShadowDifference(BaseModel):
    """One decision on which the candidate would have answered differently."""

    at: str = Field(description="When it was compared (UTC).")
    decision_id: str = Field(description="The decision's id, as in the answer and the decision log.")
    as_of: str = Field(description="The request's time (context.time, else when it arrived).")
    kind: Literal["decision", "rules", "obligations"]
    active: ShadowVerdict
    candidate: ShadowVerdict
    facts: dict[str, str | bool | int] = Field(description=(
        "The derived facts the deciding rules of either version look at, plus action and category (free-text "
        "facts are left out; no ids)."))
    candidate_facts: dict[str, str | bool | int] = Field(description=(
        "Those facts the candidate derives otherwise (other age thresholds or consent bands)."))


class ShadowReport(BaseModel):
    """Shadow evaluation of one bundle in the worker that answered (the metric sums all workers)."""

    name: str
    running: bool = Field(description="False: the final report of the last shadow, stopped at ``stopped``.")
    worker: int = Field(description="Process id of the worker whose traffic this is.")
    candidate: ShadowCandidate
    since: str
    stopped: str | None
    compared: int = Field(description="Decisions compared (same + different).")
    same: int
    different: int
    dropped: int = Field(description="Not compared: the shadow queue was full.")
    errors: int = Field(description="Not compared: the comparison failed (logged).")
    skipped: int = Field(description="Not compared: the request named a version (context.bundle name@version).")
    by_kind: dict[str, int] = Field(description="Differences by kind: decision, rules, obligations.")
    changes: list[ShadowChange] = Field(description="Each distinct difference with its count, most frequent first "
                                        "(at most 100; further ones are counted in other_changes).")
    other_changes: int
    sample: list[ShadowDifference] = Field(description="The latest differences, newest first (shadow_sample).")


class LoadReport(BaseModel):
    generation: int
    changed: list[str]
    refused: dict[str, str]
    kept: list[str]


class BundleHealth(BaseModel):
    generation: int
    revision_set: str = Field(description="Digest of the active set: equal in every worker deciding with it.")
    active: dict[str, list[str]] = Field(description="Active versions by bundle name.")
    refused: list[RefusedArtifact]
    watching: bool | None = Field(description="Hot reload watches the bundle folder (null: reload off).")
    watch_error: str | None
    key_problems: dict[str, str] = Field(description="Key files or folders that could not be read: nothing in "
                                                     "them is trusted.")


class Health(BaseModel):
    status: str
    detail: str | None = None
    bundles: BundleHealth | None = Field(None, description="/readyz: the bundle store's state.")


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


MODELS: tuple[type[BaseModel], ...] = (
    EvaluationRequest, EvaluationsRequest, FilterRequest, SubjectSearchRequest, ResourceSearchRequest,
    ActionSearchRequest, ActivateRequest, ShadowRequest, EvaluationResponse, EvaluationsResponse, ExplanationResponse,
    FilterResponse, EntitySearchResponse, ActionSearchResponse, Discovery, BundleList, BundleDetail, LoadReport,
    ShadowReport, Health, Problem,
)
