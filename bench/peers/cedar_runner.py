"""Cedar peer: decides AuthZEN corpus requests with cedarpy (in-process, no server).

An AuthZEN request becomes a Cedar request plus two entities: the subject (``Subject``) and the
dossier item (``DossierItem``); ``author`` and ``shielded_from`` become entity references so
rules a and g compare entities, the idiomatic Cedar form. All corpus properties are carried
over (not only the ones the rules read), because a real integration would pass the item as is.

Three ways to decide, from most to least realistic:
- ``decide_each``: per request, build the entities and call ``is_authorized`` (entity JSON is
  parsed by Cedar on every call; this is what a service doing one check per request pays);
- ``decide_batch``: one ``is_authorized_batch`` for a list, its entities parsed once per call;
- ``decide_prepared``: ``is_authorized_batch`` over a pre-parsed ``Entities`` handle, the lower
  bound (the reference notes most of cedarpy's time per decision is entity parsing).
Policies are parsed once into a ``PolicySet`` handle and validated against the schema at load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cedarpy

HERE = Path(__file__).resolve().parent / "cedar"
POLICY_FILE = HERE / "policies.cedar"
SCHEMA_FILE = HERE / "schema.cedarschema"

Request = dict[str, Any]
CedarRequest = dict[str, Any]
Entity = dict[str, Any]


def _ref(entity_type: str, entity_id: str) -> dict[str, dict[str, str]]:
    """Cedar's JSON form of an entity reference inside an attribute."""
    return {"__entity": {"type": entity_type, "id": entity_id}}


def subject_entity(subject: dict[str, Any]) -> Entity:
    """The AuthZEN subject as a ``Subject`` entity; ``kind`` keeps subject.type (unused by rules)."""
    props = subject["properties"]
    attrs: dict[str, Any] = {
        "kind": subject["type"],
        "relation": props["relation"],
        "gezag": props["gezag"],
        "treatment_relation": props["treatment_relation"],
        "consent_of_client": props["consent_of_client"],
    }
    if "discipline" in props:
        attrs["discipline"] = props["discipline"]
    return {"uid": {"type": "Subject", "id": subject["id"]}, "attrs": attrs, "parents": []}


def resource_entity(resource: dict[str, Any]) -> Entity:
    """The AuthZEN dossier item as a ``DossierItem`` entity with subject references."""
    props = resource["properties"]
    attrs = {
        "dossier_type": props["dossier_type"],
        "category": props["category"],
        "client": {"id": props["client"]["id"], "birthdate": props["client"]["birthdate"]},
        "client_age": props["client_age"],
        "author": _ref("Subject", props["author"]["id"]),
        "author_kind": props["author"]["kind"],
        "shielded_from": [_ref("Subject", sid) for sid in props["shielded_from"]],
        "confidential_from_parents": props["confidential_from_parents"],
    }
    return {"uid": {"type": "DossierItem", "id": resource["id"]}, "attrs": attrs, "parents": []}


def to_cedar(request: Request) -> tuple[CedarRequest, list[Entity]]:
    """One AuthZEN request as a Cedar request and the two entities it needs.

    The context stays empty: the reference rules read nothing from ``context`` (the age is
    pre-computed in ``client_age``), and an unused context would only add parsing work.
    """
    cedar_request = {
        "principal": {"type": "Subject", "id": request["subject"]["id"]},
        "action": {"type": "Action", "id": request["action"]["name"]},
        "resource": {"type": "DossierItem", "id": request["resource"]["id"]},
        "context": {},
    }
    return cedar_request, [subject_entity(request["subject"]), resource_entity(request["resource"])]


def _unique_entities(entities: list[Entity]) -> list[Entity]:
    """Drop repeated entities; a repeated uid with other attributes would mean a corrupt batch."""
    seen: dict[tuple[str, str], Entity] = {}
    for entity in entities:
        key = (entity["uid"]["type"], entity["uid"]["id"])
        if key in seen and seen[key] != entity:
            raise ValueError(f"batch has two different entities with uid {key}: give each request its own ids")
        seen[key] = entity
    return list(seen.values())


@dataclass
class CedarPeer:
    """cedarpy with the reference policies parsed (and validated) once.

    ``with_schema`` also validates every entity against the schema per call, the Cedar
    counterpart of Cerbos' schema enforcement; off by default since cedarpy users rarely do.
    """

    with_schema: bool = False
    policies: cedarpy.PolicySet = field(init=False)
    schema: cedarpy.Schema | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        text = POLICY_FILE.read_text(encoding="utf-8")
        schema_text = SCHEMA_FILE.read_text(encoding="utf-8")
        result = cedarpy.validate_policies(text, schema_text)
        if not result.validation_passed:
            raise ValueError(f"Cedar policies do not validate: {result.errors}")
        self.policies = cedarpy.PolicySet.from_str(text)
        if self.with_schema:
            self.schema = cedarpy.Schema.from_str(schema_text)

    def _check(self, results: list[cedarpy.AuthzResult]) -> list[bool]:
        """Decisions as booleans; an evaluation error means a rule was skipped, which is a bug here."""
        for result in results:
            if result.diagnostics.errors:
                raise RuntimeError(f"Cedar evaluation error: {result.diagnostics.errors}")
        return [result.allowed for result in results]

    def decide(self, request: Request) -> bool:
        """One request, one ``is_authorized`` call with freshly built entities."""
        cedar_request, entities = to_cedar(request)
        result = cedarpy.is_authorized(cedar_request, self.policies, entities, self.schema)
        return self._check([result])[0]

    def decide_each(self, requests: list[Request]) -> list[bool]:
        """Every request on its own (``is_authorized`` per request), the realistic per-check cost."""
        return [self.decide(request) for request in requests]

    def prepare(self, requests: list[Request]) -> tuple[list[CedarRequest], list[Entity]]:
        """Cedar requests and the union of their entities (ids must be unique per request)."""
        cedar_requests: list[CedarRequest] = []
        entities: list[Entity] = []
        for request in requests:
            cedar_request, pair = to_cedar(request)
            cedar_requests.append(cedar_request)
            entities.extend(pair)
        return cedar_requests, _unique_entities(entities)

    def decide_batch(self, requests: list[Request]) -> list[bool]:
        """One ``is_authorized_batch`` call; entities are built and parsed once for the whole list."""
        cedar_requests, entities = self.prepare(requests)
        results = cedarpy.is_authorized_batch(cedar_requests, self.policies, entities, self.schema)
        return self._check(results)

    def parse_entities(self, entities: list[Entity]) -> cedarpy.Entities:
        """A reusable parsed entity handle, for the lower-bound measurement."""
        import json

        return cedarpy.Entities.from_json_str(json.dumps(entities), self.schema)

    def decide_prepared(self, cedar_requests: list[CedarRequest], entities: cedarpy.Entities) -> list[bool]:
        """``is_authorized_batch`` over already-built requests and pre-parsed entities (lower bound)."""
        return self._check(cedarpy.is_authorized_batch(cedar_requests, self.policies, entities, self.schema))
