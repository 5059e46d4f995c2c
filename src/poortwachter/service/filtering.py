"""Many decisions for one subject and action: /v1/filter and the AuthZEN search endpoints.

Both turn one request into a list of ordinary evaluation requests (a template entity merged with
each candidate) and let the Decider answer each; nothing is decided here. The merge is shallow and
entity-level: a candidate's ``properties`` override the template's key by key, so the shared parts
(dossier_type, client) are sent once and each item brings what differs (its category, author).

Search pages are computed statelessly: the page token encodes the offset and a digest of the query,
so a token only continues the query it came from (a different query with an old token is a 400).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from ..core.calendar import local_date
from ..core.catalog import Catalog
from ..core.errors import RequestError
from ..core.readers import Json, instant, obj, text
from ..core.vocabulary import CATEGORIES
from .batch import decide_paced
from .decider import Answer, Call, Decider
from .inventory import Inventory

ENTITY_KEYS = ("subject", "action", "resource", "context")


def merge(template: Json, candidate: Json, *, id_key: str = "id") -> dict[str, Any]:
    """The candidate entity completed from the template (type and properties)."""
    entity: dict[str, Any] = {k: v for k, v in template.items() if k != id_key}
    entity.update({k: v for k, v in candidate.items() if k != "properties"})
    base = template.get("properties")
    own = candidate.get("properties")
    if isinstance(base, Mapping) or isinstance(own, Mapping):
        entity["properties"] = {**(base if isinstance(base, Mapping) else {}),
                                **(own if isinstance(own, Mapping) else {})}
    return entity


def shared_context(body: Json) -> Json:
    """The context every decision of a filter or search shares, its time checked once: an instant the
    calendar cannot take to Amsterdam time (year 9999 at UTC, year 1 at +14:00) is a 400 for the call,
    not an error in each item (nor a 500 on the way to choosing a bundle)."""
    context = obj(body.get("context"), "context", required=False)
    try:
        when = instant(context, "time", "context")
        if when is not None:
            local_date(when)
    except (OverflowError, ValueError):
        raise RequestError("context.time", "a date-time from year 1 to 9999 in Amsterdam time",
                           context.get("time")) from None
    return context


def _list(body: Json, key: str, limit: int) -> list[Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise RequestError(key, "a list", value)
    if len(value) > limit:
        raise RequestError(key, f"at most {limit} entries", f"{len(value)} entries")
    return value


# ------------------------------------------------------------------------------------ /v1/filter


def filter_requests(body: Any, limit: int) -> tuple[list[str], list[Any]]:
    """(ids, evaluation requests) of a /v1/filter body; RequestError for a malformed body."""
    body = obj(body, "request")
    obj(body.get("subject"), "subject")
    obj(body.get("action"), "action")
    template = obj(body.get("resource"), "resource", required=False)
    shared_context(body)
    items = _list(body, "items", limit)
    categories = _list(body, "categories", limit)
    if (items is None) == (categories is None):
        raise RequestError("items", "either items (dossier items) or categories (field categories), not both",
                           "both" if items is not None else None, missing=items is None)
    if categories is not None:
        for i, cat in enumerate(categories):
            if not isinstance(cat, str) or not cat:
                raise RequestError(f"categories[{i}]", "a category name", cat)
        items = [{"id": c, "properties": {"category": c}} for c in categories]
    assert items is not None
    ids: list[str] = []
    requests: list[Any] = []
    for i, item in enumerate(items):
        item = obj(item, f"items[{i}]")
        ids.append(text(item, "id", f"items[{i}]") or "")
        resource = merge({"type": "dossier_item", **template}, item)
        requests.append({**{k: body[k] for k in ("subject", "action", "context") if k in body}, "resource": resource})
    return ids, requests


async def run_filter(decider: Decider, ids: list[str], requests: list[Any], call: Call) -> dict[str, Any]:
    answers = await decide_paced(decider, requests, call)
    results = [{"id": i, **a} for i, a in zip(ids, answers)]
    return {"allowed": [r["id"] for r in results if r["decision"]],
            "denied": [r["id"] for r in results if not r["decision"]],
            "items": results}


# ------------------------------------------------------------------------------------ search


def _fixed(body: Json, key: str) -> Json:
    """An entity the search does not vary: it needs its identifying fields."""
    part = obj(body.get(key), key)
    if key == "action":
        text(part, "name", key)
    else:
        text(part, "type", key)
        text(part, "id", key)
    return part


def _page(body: Json, default_size: int, limit: int) -> tuple[str | None, int]:
    page = obj(body.get("page"), "page", required=False)
    token = page.get("token", page.get("next_token"))
    if token is not None and not isinstance(token, str):
        raise RequestError("page.token", "the next_token string of a previous response", token)
    size = page.get("limit")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise RequestError("page.limit", "a non-negative integer", size)
    return token or None, min(size or default_size, limit)


def _digest(body: Json) -> str:
    query = {k: v for k, v in body.items() if k != "page"}
    return hashlib.sha256(orjson.dumps(query, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _offset(token: str | None, digest: str) -> int:
    if token is None:
        return 0
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        offset, query = data["o"], data["q"]
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise RequestError("page.token", "a next_token this service returned", token) from None
    if query != digest or not isinstance(offset, int) or offset < 0:
        raise RequestError("page.token", "a next_token returned for this same query", token)
    return offset


def _token(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset, "q": digest})).decode().rstrip("=")


class Search:
    """One AuthZEN search request of ``kind`` subject, resource or action."""

    def __init__(self, kind: str, body: Any, default_size: int, limit: int) -> None:
        self.kind = kind
        self.body = obj(body, "request")
        self.limit = limit
        if kind == "subject":
            text(obj(self.body.get("subject"), "subject"), "type", "subject")
            _fixed(self.body, "action")
            _fixed(self.body, "resource")
        elif kind == "resource":
            _fixed(self.body, "subject")
            _fixed(self.body, "action")
            text(obj(self.body.get("resource"), "resource"), "type", "resource")
        else:
            _fixed(self.body, "subject")
            _fixed(self.body, "resource")
        shared_context(self.body)
        self.token, self.size = _page(self.body, default_size, limit)
        self.digest = _digest(self.body)
        self.offset = _offset(self.token, self.digest)
        self.candidates = _list(self.body, "candidates", limit)

    def requests(self, candidates: list[Any]) -> tuple[list[dict[str, Any]], list[Any]]:
        """(result entity, evaluation request) per candidate."""
        out_entities: list[dict[str, Any]] = []
        out_requests: list[Any] = []
        base = {k: self.body[k] for k in ENTITY_KEYS if k in self.body and k != self.kind}
        template = self.body.get(self.kind) or {}
        for i, cand in enumerate(candidates):
            cand = obj(cand, f"candidates[{i}]")
            if self.kind == "action":
                name = text(cand, "name", f"candidates[{i}]")
                entity = merge({}, cand, id_key="name")
                out_entities.append({"name": name})
            else:
                text(cand, "id", f"candidates[{i}]")
                entity = merge(template, cand)
                if not isinstance(entity.get("type"), str):
                    raise RequestError(f"candidates[{i}].type", "an entity type", entity.get("type"))
                out_entities.append({"type": entity["type"], "id": entity["id"]})
            out_requests.append({**base, self.kind: entity})
        return out_entities, out_requests

    def recognised(self, inventory: Inventory) -> bool:
        """Whether the inventory knows the entities this search holds fixed, where it lists entities of
        their kind and type: the inventory is what the PDP recognises, and a search about an entity it
        does not recognise has no results (AuthZEN certification C.4.6), whatever the policy would say
        of a stranger. Searches that bring their own candidates are not checked."""
        if self.candidates is not None:
            return True
        for key in ("subject", "action", "resource"):
            if key == self.kind:
                continue
            entity = self.body[key]
            id_key = "name" if key == "action" else "id"
            listed = inventory.of(key + "s", None if key == "action" else entity.get("type"))
            if listed and not any(x.get(id_key) == entity.get(id_key) for x in listed):
                return False
        return True

    def default_candidates(self, inventory_items: list[dict[str, Any]], vocabulary_actions: tuple[str, ...],
                           youth_care: bool) -> list[Any]:
        """Without request candidates: the inventory, else the bundle's actions or (youth-care resources)
        the categories of the vocabulary, each answered under its own name."""
        if self.candidates is not None:
            return self.candidates
        if inventory_items:
            return inventory_items
        if self.kind == "action":
            return [{"name": a} for a in vocabulary_actions]
        if self.kind == "resource" and youth_care and self.body["resource"].get("type") == "dossier_item":
            return [{"id": c, "properties": {"category": c}} for c in CATEGORIES]
        return []

    async def page(self, decider: Decider, entities: list[dict[str, Any]], requests: list[Any],
                   call: Call, catalog: Catalog) -> dict[str, Any]:
        answers: list[Answer] = await decide_paced(decider, requests, call, catalog=catalog) if requests else []
        results = [e for e, a in zip(entities, answers) if a["decision"]]
        chunk = results[self.offset:self.offset + self.size]
        end = self.offset + len(chunk)
        return {"results": chunk, "page": {"next_token": _token(end, self.digest) if end < len(results) else "",
                                           "count": len(chunk), "total": len(results)}}
