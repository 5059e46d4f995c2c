"""The request bodies of the decision API (AuthZEN evaluation, batch, filter, search), for the OpenAPI
document: every attribute of the contract's vocabulary with its type, allowed values (imported from
core.vocabulary, so the docs cannot drift from what the parser accepts), meaning and an example.

Allowed values are those of the youth-care vocabulary; bundles with a custom vocabulary (the AuthZEN
certification fixture) accept their own types, actions and properties.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...core import vocabulary as v
from ..decider import SEMANTICS

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
Semantic = Literal[SEMANTICS]  # type: ignore[valid-type]

ISO_DATE = r"^\d{4}-\d{2}-\d{2}"


class Open(BaseModel):
    """AuthZEN forward compatibility: unknown fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")


class _Open(BaseModel):
    """AuthZEN forward compatibility: unknown fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")


class SubjectProperties(Open):
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


class Subject(Open):
    """AuthZEN Subject: who asks."""

    type: SubjectType = Field(description=(
        "person: a client, parent or other private person; professional: a care professional acting in a role; "
        "organisation: an institution as requester or recipient."), examples=["person"])
    id: str = Field(min_length=1, description="Identifier of the subject, scoped to its type.", examples=["p-123"])
    properties: SubjectProperties | None = Field(None, description="Attributes the policy needs.")


class Recipient(Subject):
    """The third party a disclosure goes to (action disclose)."""


class Transfer(Open):
    reason: str | None = Field(None, description=(
        f"Why the dossier moves; known values {', '.join(v.TRANSFER_REASONS[:-1])}, others read as 'other'."),
        examples=["verhuizing"])
    new_school_known: bool | None = Field(None, description="The new school is known. Default false.")


class ActionProperties(Open):
    recipient: Recipient | None = Field(None, description="disclose only (required there): who receives.")
    setting: str | None = Field(None, description=(
        "Where the action happens; known value mdo (multidisciplinary meeting), others read as 'other'."),
        examples=["mdo"])
    transfer: Transfer | None = Field(None, description="Dossier transfer details.")
    processing_activity_id: str | None = Field(None, description=(
        "NLGov AuthZEN profile: the id of the processing activity in the AVG register (art. 30); logged."),
        examples=["pa-jgz-inzage"])


class Action(Open):
    """AuthZEN Action: what the subject wants to do."""

    name: ActionName = Field(description=(
        "read = inzage; copy = afschrift; write = add an entry; correct = correct factual data; annotate = add "
        "an own statement (eigen verklaring); disclose = verstrekken to a third party; destroy = vernietigen; "
        "read_log = see who accessed the dossier."), examples=["read"])
    properties: ActionProperties | None = None


class Client(Open):
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


class Author(Open):
    id: str | None = Field(None, description="Who entered the item.", examples=["prof-7"])
    kind: AuthorKind | None = Field(None, description="What kind of party entered it.", examples=["professional"])


class About(Open):
    id: str | None = Field(None, description="The person the item is about, when not the client.")
    relation: Relation | None = Field(None, description="That person's relation to the client.")


class ResourceProperties(Open):
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


class Resource(Open):
    """AuthZEN Resource: what the action is on."""

    type: ResourceType = Field(description="dossier_item = one field or entry; dossier = the whole dossier.",
                               examples=["dossier_item"])
    id: str = Field(min_length=1, description="Identifier of the item or dossier.",
                    examples=["d-9/gespreksverslag/2026-03-01"])
    properties: ResourceProperties


class Consent(Open):
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


class Objection(Open):
    by: str = Field(min_length=1, description="Id of the objecting person.", examples=["c-9"])
    for_: str | None = Field(None, alias="for", min_length=1, description=(
        "Id or role the objection is against. Absent: aimed at no one in particular (e.g. research use); "
        "it then never counts against a professional."), examples=["ouder"])
    scope: str = Field(min_length=1, description="A category, 'dossier' or 'research'.", examples=["dossier"])
    form: str | None = Field(None, description="How it was made (e.g. mondeling, schriftelijk).")
    given_at: str | None = Field(None, pattern=ISO_DATE, description="From when it applies. Absent: in force.",
                                 examples=["2026-02-01"])


class AttestationItem(Open):
    kind: Attestation = Field(description=(
        "A fact only a professional can establish: emergency, complaint_defence, informatieplicht, meldrecht, "
        "client_informed (the client was told what is shared, with whom and why), colleague_consulted, "
        "serious_harm, not_good_care (sharing would not fit a goed hulpverlener), excessive_request, "
        "significant_interest_other, court_order, legal_retention_duty (a statutory provision opposes "
        "destruction, BW 7:455 lid 2)."), examples=["client_informed"])
    by: str | None = Field(None, description="Id of the attesting professional.", examples=["prof-7"])


class Context(Open):
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


class EvaluationRequest(Open):
    """AuthZEN Access Evaluation request (§6)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [EVALUATION_EXAMPLE]})

    subject: Subject
    action: Action
    resource: Resource
    context: Context | None = None


class EvaluationItem(Open):
    """One evaluation of a batch: each key given replaces the top-level default of that key (whole
    entity; a missing type/id/name falls back to the default's)."""

    subject: Subject | None = None
    action: Action | None = None
    resource: Resource | None = None
    context: Context | None = None


class EvaluationsOptions(Open):
    evaluations_semantic: Semantic | None = Field("execute_all", description=(
        "execute_all: answer every item; deny_on_first_deny: stop after the first deny (or error); "
        "permit_on_first_permit: stop after the first permit."))


class EvaluationsRequest(Open):
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


class FilterItem(Open):
    id: str = Field(min_length=1, description="Item id, echoed in the answer.", examples=["d-9/groei/2026-02-01"])
    type: ResourceType | None = Field(None, description="Default: the template's type, else dossier_item.")
    properties: dict[str, Any] | None = Field(None, description=(
        "Resource properties of this item (see ResourceProperties); they override the template's."),
        examples=[{"category": "groei"}])


class ResourceTemplate(Open):
    type: ResourceType | None = Field(None, description="Default type of the items.")
    id: str | None = Field(None, description="Ignored.")
    properties: dict[str, Any] | None = Field(None, description=(
        "Properties shared by every item (dossier_type, client, author …, see ResourceProperties)."),
        examples=[{"dossier_type": "jgz", "client": {"id": "c-9", "birthdate": "2016-05-30"}}])


class FilterRequest(Open):
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


class SearchEntity(Open):
    type: str = Field(min_length=1, description="Entity type.")
    id: str | None = Field(None, description="Identifier (required where the entity is fixed, ignored where searched).")
    properties: dict[str, Any] | None = None


class SearchAction(Open):
    name: str = Field(min_length=1, description="Action name.")
    properties: dict[str, Any] | None = None


class PageRequest(Open):
    token: str | None = Field(None, description="next_token of a previous response.")
    limit: int | None = Field(None, ge=0, description="Most results to return (0 or absent: the default page size).")


class Candidate(Open):
    id: str | None = Field(None, description="Id (subjects, resources).")
    name: str | None = Field(None, description="Name (actions).")
    type: str | None = None
    properties: dict[str, Any] | None = None


class Search(Open):
    context: Context | None = None
    page: PageRequest | None = None
    candidates: list[Candidate] | None = Field(None, max_length=1000, description=(
        "Poortwachter extension: the entities to search among (a stateless PDP knows no dossier). "
        "Absent: the configured search inventory, else (actions) the bundle's actions or (youth-care "
        "resources) the vocabulary's categories."))


class SubjectSearchRequest(Search):
    """AuthZEN Subject Search: which subjects of subject.type may do action on resource."""

    subject: SearchEntity
    action: SearchAction
    resource: SearchEntity


class ResourceSearchRequest(Search):
    """AuthZEN Resource Search: which resources of resource.type may subject do action on."""

    subject: SearchEntity
    action: SearchAction
    resource: SearchEntity


class ActionSearchRequest(Search):
    """AuthZEN Action Search: which actions may subject do on resource."""

    subject: SearchEntity
    resource: SearchEntity
