"""A fake HubSpot portal on 127.0.0.1, for tests and the demo: the CRM v3 object endpoints
(list, search, batch update) and associations v4 batch read with labels, answering as
HubSpot's public OpenAPI documents describe — pagination, only the properties asked for (and
HubSpot's defaults), a request budget answering 429 with Retry-After, server errors on demand.

Its data comes from a portable dataset (the sample portfolio): records as CRM objects,
associations with their labels, and the events HubSpot keeps as engagements (calls, meetings,
emails, notes) as engagement objects associated with their owners.
"""

from __future__ import annotations

import bisect
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from healthscore.domain.dataset import Dataset
from healthscore.domain.hubspot_mapping import engagement_of, instant_text

OBJECT_PATH = re.compile(r"^/crm/v3/objects/([a-z_0-9:\-]+)$")
ONE_OBJECT_PATH = re.compile(r"^/crm/v3/objects/([a-z_0-9:\-]+)/([^/]+)$")
SEARCH_PATH = re.compile(r"^/crm/v3/objects/([a-z_0-9:\-]+)/search$")
BATCH_UPDATE_PATH = re.compile(r"^/crm/v3/objects/([a-z_0-9:\-]+)/batch/update$")
ASSOCIATIONS_PATH = re.compile(r"^/crm/v4/associations/([a-z_0-9:\-]+)/([a-z_0-9:\-]+)/batch/read$")
GROUPS_PATH = re.compile(r"^/crm/v3/properties/([a-z_0-9:\-]+)/groups$")
GROUP_PATH = re.compile(r"^/crm/v3/properties/([a-z_0-9:\-]+)/groups/([a-z_0-9]+)$")
PROPERTIES_PATH = re.compile(r"^/crm/v3/properties/([a-z_0-9:\-]+)$")
PROPERTY_PATH = re.compile(r"^/crm/v3/properties/([a-z_0-9:\-]+)/([a-z_0-9]+)$")
LABEL_TYPE_IDS: dict[str, int] = {}
# what HubSpot answers for every object when no properties are named
DEFAULT_PROPERTIES = ("hs_object_id", "createdate", "hs_lastmodifieddate")


@dataclass
class Stored:
    id: str
    properties: dict[str, str]
    updated_at: datetime
    created_at: datetime

    def view(self, wanted: list[str] | None) -> dict[str, Any]:
        names = {*(wanted or ()), *DEFAULT_PROPERTIES}
        # as HubSpot's documents have it: a property without a value is left out
        shown = {k: self.properties[k] for k in sorted(names) if k in self.properties}
        return {
            "id": self.id,
            "properties": shown,
            "createdAt": instant_text(self.created_at),
            "updatedAt": instant_text(self.updated_at),
            "archived": False,
        }


@dataclass
class Portal:
    """What the fake holds, and what it was asked."""

    objects: dict[str, dict[str, Stored]] = field(default_factory=dict)
    # (from type, from id, to type) → to id → labels
    links: dict[tuple[str, str, str], dict[str, list[str]]] = field(default_factory=dict)
    # object type → group name → group; object type → property name → property
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    properties: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    bodies: list[tuple[str, str, Any, int, Any]] = field(default_factory=list)
    budget: int | None = None  # requests per `window` seconds before 429s
    window: float = 1.0
    error_rate: float = 0.0
    throttle_every: int = 0  # every n-th request answers 429 (deterministic, unlike the budget)
    fail_next: int = 0
    random: random.Random = field(default_factory=lambda: random.Random(17))
    lock: threading.RLock = field(default_factory=threading.RLock)
    _window_start: float = 0.0
    _window_count: int = 0
    _served: int = 0
    _ids: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_dataset(cls, dataset: Dataset, modified: datetime | None = None) -> Portal:
        portal = cls()
        at = modified or datetime.now(UTC)
        for record in dataset.all_records():
            props = {k: _text(v) for k, v in record.properties.items()}
            portal.put(record.object_type, record.id, props, at)
        for one, other, labels in dataset.association_pairs():
            portal.link(one, other, sorted(labels))
        for event in dataset.all_events():
            engagement = engagement_of(event)
            if engagement is None:
                continue
            object_type, props = engagement
            stored = portal.put(object_type, event.id, props, event.occurred_at)
            portal.link((object_type, stored.id), (event.object_type, event.object_id), [])
        return portal

    def put(self, object_type: str, oid: str, props: dict[str, str], at: datetime) -> Stored:
        with self.lock:
            existing = self.objects.setdefault(object_type, {}).get(oid)
            if existing is None:
                self._ids.pop(object_type, None)
            values = {**(existing.properties if existing else {}), **props}
            values |= {"hs_object_id": oid, "hs_lastmodifieddate": instant_text(at)}
            values.setdefault("createdate", instant_text(existing.created_at if existing else at))
            stored = Stored(oid, values, at, existing.created_at if existing else at)
            self.objects[object_type][oid] = stored
            return stored

    def link(self, one: tuple[str, str], other: tuple[str, str], labels: list[str]) -> None:
        with self.lock:
            self.links.setdefault((one[0], one[1], other[0]), {})[other[1]] = labels
            self.links.setdefault((other[0], other[1], one[0]), {})[one[1]] = labels

    def admit(self) -> int | None:
        """None to serve the request, or the status to refuse it with (429 or a 5xx)."""
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 502
            if self.error_rate and self.random.random() < self.error_rate:
                return 500
            self._served += 1
            if self.throttle_every and self._served % self.throttle_every == 0:
                return 429
            if self.budget is None:
                return None
            now = time.monotonic()
            if now - self._window_start >= self.window:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            return 429 if self._window_count > self.budget else None

    # -- the endpoints -------------------------------------------------------------------------

    def list_page(self, object_type: str, query: dict[str, list[str]]) -> dict[str, Any]:
        wanted = _wanted(query.get("properties"))
        limit = min(int(query.get("limit", ["10"])[0]), 100)
        with self.lock:
            ids = self._ids.get(object_type)
            if ids is None:  # sorted once, again only when an object is added
                ids = self._ids[object_type] = sorted(self.objects.get(object_type, {}))
        after = query.get("after", [None])[0]
        start = 0 if after is None else bisect.bisect_right(ids, after)
        page = [self.objects[object_type][i] for i in ids[start : start + limit]]
        following = page[-1].id if page and start + limit < len(ids) else None
        return _page([o.view(wanted) for o in page], following)

    def one(self, object_type: str, oid: str, query: dict[str, list[str]]) -> dict[str, Any]:
        found = self.objects.get(object_type, {}).get(oid)
        if found is None:
            raise LookupError(f"no {object_type} {oid}")
        return found.view(_wanted(query.get("properties")))

    def search(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        candidates = list(self.objects.get(object_type, {}).values())
        for group in body.get("filterGroups") or [{}]:
            for rule in group.get("filters", []):
                candidates = [o for o in candidates if _holds(o, rule)]
        sorts = body.get("sorts") or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        sort = sorts[0] if isinstance(sorts[0], dict) else {"propertyName": sorts[0]}
        name = sort.get("propertyName", "hs_object_id")
        candidates.sort(
            key=lambda o: (o.properties.get(name) or "", o.id),
            reverse=sort.get("direction") == "DESCENDING",
        )
        limit = min(int(body.get("limit", 10)), 200)
        start = int(body.get("after") or 0)
        page = candidates[start : start + limit]
        following = str(start + limit) if start + limit < len(candidates) else None
        found = _page([o.view(body.get("properties")) for o in page], following)
        return {"total": len(candidates), **found}

    def associations(self, from_type: str, to_type: str, body: dict[str, Any]) -> dict[str, Any]:
        results = []
        for entry in body.get("inputs", []):
            targets = self.links.get((from_type, str(entry["id"]), to_type), {})
            if not targets:
                continue
            results.append(
                {
                    "from": {"id": str(entry["id"])},
                    "to": [
                        {"toObjectId": tid, "associationTypes": _association_types(labels)}
                        for tid, labels in sorted(targets.items())
                    ],
                }
            )
        now = instant_text(datetime.now(UTC))
        return {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}

    def batch_update(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        at = datetime.now(UTC)
        updated = []
        for entry in body.get("inputs", []):
            if str(entry["id"]) not in self.objects.get(object_type, {}):
                raise LookupError(f"no {object_type} {entry['id']}")
            stored = self.put(object_type, str(entry["id"]), dict(entry["properties"]), at)
            updated.append(stored.view(list(entry["properties"])))
        now = instant_text(at)
        return {"status": "COMPLETE", "results": updated, "startedAt": now, "completedAt": now}

    def group(self, object_type: str, name: str) -> dict[str, Any]:
        found = self.groups.get(object_type, {}).get(name)
        if found is None:
            raise LookupError(f"no property group {name} on {object_type}")
        return found

    def create_group(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        group = {
            "name": body["name"],
            "label": body["label"],
            "displayOrder": body.get("displayOrder", -1),
            "archived": False,
        }
        self.groups.setdefault(object_type, {})[body["name"]] = group
        return group

    def property(self, object_type: str, name: str) -> dict[str, Any]:
        found = self.properties.get(object_type, {}).get(name)
        if found is None:
            raise LookupError(f"no property {name} on {object_type}")
        return found

    def create_property(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        if body["name"] in self.properties.get(object_type, {}):
            raise ValueError(f"property {body['name']} already exists")
        self.group(object_type, body["groupName"])  # HubSpot refuses an unknown group
        created = {"options": [], "description": "", **body, "hidden": False}
        self.properties.setdefault(object_type, {})[body["name"]] = created
        return created

    def update_property(self, object_type: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        updated = {**self.property(object_type, name), **body}
        self.properties[object_type][name] = updated
        return updated


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def _wanted(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [p for v in values for p in v.split(",") if p]


def _page(results: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    page: dict[str, Any] = {"results": results}
    if after is not None:
        page["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
    return page


def _holds(stored: Stored, rule: dict[str, Any]) -> bool:
    value = stored.properties.get(rule.get("propertyName", ""))
    wanted = rule.get("value")
    if rule.get("operator") == "GTE" and rule.get("propertyName") == "hs_lastmodifieddate":
        return stored.updated_at >= _instant(wanted)
    if rule.get("operator") == "EQ":
        return str(value) == str(wanted)
    if rule.get("operator") == "HAS_PROPERTY":
        return value not in (None, "")
    raise ValueError(f"the fake does not filter with {rule}")


def _instant(value: Any) -> datetime:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _association_types(labels: list[str]) -> list[dict[str, Any]]:
    kinds: list[dict[str, Any]] = [{"category": "HUBSPOT_DEFINED", "typeId": 1}]
    for label in labels:
        type_id = LABEL_TYPE_IDS.setdefault(label, 100 + len(LABEL_TYPE_IDS))
        kinds.append({"category": "USER_DEFINED", "typeId": type_id, "label": label})
    return kinds


def serve(portal: Portal, port: int, token: str) -> ThreadingHTTPServer:
    """Serve the portal on 127.0.0.1:`port` for requests bearing `token`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # quiet: the portal keeps its own log
            pass

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def do_PATCH(self) -> None:
            self._answer("PATCH")

        def _answer(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = self._route(method, url.path, parse_qs(url.query), body)
            with portal.lock:
                portal.requests.append((method, url.path, status))
                portal.bodies.append((method, self.path, body, status, answer))
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json;charset=utf-8")
            self.send_header("content-length", str(len(data)))
            if status == 429:
                self.send_header("retry-after", "1")
            self.end_headers()
            self.wfile.write(data)

        def _route(
            self, method: str, path: str, query: dict[str, list[str]], body: Any
        ) -> tuple[int, Any]:
            if self.headers.get("authorization") != f"Bearer {token}":
                return 401, _error(
                    "Authentication credentials not found.", "INVALID_AUTHENTICATION"
                )
            refused = portal.admit()
            if refused == 429:
                return 429, _error("You have reached your secondly limit.", "RATE_LIMITS")
            if refused is not None:
                return refused, _error("internal error", "INTERNAL_ERROR")
            try:
                answer = route(portal, method, path, query, body)
                if isinstance(answer, Created):
                    return 201, answer.body
                return 200, answer
            except LookupError as error:
                return 404, _error(str(error), "OBJECT_NOT_FOUND")
            except (ValueError, KeyError, TypeError) as error:
                return 400, _error(str(error), "VALIDATION_ERROR")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def route(portal: Portal, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
    if method == "GET" and (m := OBJECT_PATH.match(path)):
        return portal.list_page(m.group(1), query)
    if method == "GET" and (m := ONE_OBJECT_PATH.match(path)):
        return portal.one(m.group(1), m.group(2), query)
    if method == "POST" and (m := SEARCH_PATH.match(path)):
        return portal.search(m.group(1), body)
    if method == "POST" and (m := BATCH_UPDATE_PATH.match(path)):
        return portal.batch_update(m.group(1), body)
    if method == "POST" and (m := ASSOCIATIONS_PATH.match(path)):
        return portal.associations(m.group(1), m.group(2), body)
    if method == "GET" and (m := GROUP_PATH.match(path)):
        return portal.group(m.group(1), m.group(2))
    if method == "POST" and (m := GROUPS_PATH.match(path)):
        return Created(portal.create_group(m.group(1), body))
    if method == "GET" and (m := PROPERTY_PATH.match(path)):
        return portal.property(m.group(1), m.group(2))
    if method == "POST" and (m := PROPERTIES_PATH.match(path)):
        return Created(portal.create_property(m.group(1), body))
    if method == "PATCH" and (m := PROPERTY_PATH.match(path)):
        return portal.update_property(m.group(1), m.group(2), body)
    raise LookupError(f"the fake HubSpot does not serve {method} {path}")


@dataclass(frozen=True)
class Created:
    """An answer that is a 201."""

    body: Any


def _error(message: str, category: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
