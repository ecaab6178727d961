"""The API's contract: a valid OpenAPI document made from the models (tagged, described, every
body typed), and bad input — however big, deep or forged — answered 4xx with a reason, never a
500; a bug of ours answers a problem document with a request id, no traceback."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.api.client import load_function
from tests.api.conftest import Stack
from tests.api.test_definitions_api import minimal, seeded

KB = 1024


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    document: dict[str, Any] = load_function("api").api_document()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in document["paths"].items() for m, op in ops.items()]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # raises on any dangling $ref or malformed schema
    assert document["info"]["description"]
    assert len(operations(document)) >= 30


def test_every_operation_is_tagged_named_and_described(document: dict[str, Any]) -> None:
    declared = {t["name"] for t in document["tags"]}
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(set(ids)) == len(ids)
    for method, path, op in operations(document):
        assert op.get("tags"), (method, path)
        assert set(op["tags"]) <= declared, (method, path)
        assert op["summary"] != f"{method.upper()} {path}", (method, path)
        assert len(op["description"]) > 20, (method, path)
        assert op["operationId"].isidentifier(), op["operationId"]
        assert "_" not in op["operationId"], op["operationId"]


def typed(schema: dict[str, Any]) -> bool:
    """A $ref, a list of them, or a choice of them — never a bare `object`."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return typed(schema["items"])
    return any(typed(s) for s in schema.get("anyOf", schema.get("oneOf", []))) and all(
        typed(s) or s.get("type") == "null" for s in schema.get("anyOf", schema.get("oneOf", []))
    )


def test_every_body_and_answer_is_a_named_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for method, path, op in operations(document):
        if "requestBody" in op:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            assert typed(schema), (method, path, schema)
        for code, response in op["responses"].items():
            if code.startswith("2") and code != "204":
                assert typed(response["content"]["application/json"]["schema"]), (method, path)
    # the domain's models are the definition's and the condition's schemas
    assert schemas["ScoreDefinition"]["required"] == [
        "name",
        "object_type",
        "segments",
        "groups",
        "thresholds",
    ]
    assert "Condition" in schemas
    assert "Rule" in schemas
    assert schemas["SegmentBody"]["examples"]


def test_the_documented_examples_are_accepted(stack: Stack, document: dict[str, Any]) -> None:
    admin = seeded(stack)
    schemas = document["components"]["schemas"]
    segment = schemas["SegmentBody"]["examples"][0]
    assert admin.put("/segments/upmarket", segment).status == 200
    record = schemas["RecordBody"]["examples"][0]
    assert admin.put("/records/companies/c1", record).status == 200
    assert admin.put("/records/contacts/p1", record).status == 200
    assert admin.post("/associations", schemas["AssociationBody"]["examples"][0]).status == 201
    assert admin.post("/events", schemas["EventBody"]["examples"]).status == 200
    created = admin.post("/definitions/from-templates", {"name": "H", "segments": ["upmarket"]})
    assert created.status == 201, created.body


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_deep_json_is_refused_before_it_is_parsed(stack: Stack) -> None:
    admin = seeded(stack)
    viewer = stack.viewer("acme")
    too_deep = '{"name": "S", "object_type": "companies", "conditions": ' + deep(1000) + "}"
    # a viewer may not change anything: 403 before the body is even looked at
    assert viewer.request("PUT", "/segments/s", raw_body=too_deep).status == 403
    reply = admin.request("PUT", "/segments/s", raw_body=too_deep)
    assert reply.status == 400
    assert reply.body["errors"] == [
        {"path": "body", "message": "is nested 33 levels deep; at most 32"}
    ]
    # brackets inside strings are text, not nesting
    text = {"properties": {"note": deep(200)}}
    assert admin.put("/records/companies/c1", text).status == 200


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("/segments/big", 500 * KB),
        ("/records/companies/big", 450 * KB),
        ("/definitions", 4800 * KB),
    ],
)
def test_big_bodies_are_413_naming_the_limit(stack: Stack, path: str, size: int) -> None:
    admin = seeded(stack)
    body = json.dumps({"name": "x" * size, "object_type": "companies"})
    method = "POST" if path == "/definitions" else "PUT"
    reply = admin.request(method, path, raw_body=body)
    assert reply.status == 413, reply.body
    assert reply.body["errors"][0]["path"] == "body"
    assert "at most" in reply.body["errors"][0]["message"]


def test_a_definition_grown_past_its_item_is_400(stack: Stack) -> None:
    """Cloning sends no body: the stored size itself is bounded."""
    admin = seeded(stack)
    definition = minimal()
    definition["groups"][0]["rules"][0]["description"] = "d" * 9_000
    created = admin.post("/definitions", definition)
    assert created.status == 201, created.body
    did, version = created.body["id"], created.body["version"]
    rule = created.body["draft"]["groups"][0]["rules"][0]["id"]
    for _ in range(40):
        reply = admin.post(f"/definitions/{did}/rules/{rule}/clone", query={"version": version})
        if reply.status != 200:
            break
        version = reply.body["version"]
    assert reply.status == 400, reply.body
    assert reply.body["errors"][0]["path"] == "groups"
    assert "at most 300,000" in reply.body["errors"][0]["message"]
    assert admin.get(f"/definitions/{did}").status == 200  # what was stored is intact


def test_ids_and_types_too_long_are_400(stack: Stack) -> None:
    admin = seeded(stack)
    assert admin.put("/records/custom:" + "w" * 1100 + "/x", {}).status == 400
    assert admin.put("/records/companies/" + "x" * 1100, {}).status == 400
    event = {
        "id": "e" * 1100,
        "type": "meeting_booked",
        "occurred_at": "2026-06-01T10:00:00Z",
        "object_type": "contacts",
        "object_id": "p1",
    }
    reply = admin.post("/events", [event])
    assert reply.status == 400
    assert reply.body["errors"][0]["path"] == "[0].id"
    link = {"from_type": "companies", "from_id": "c" * 1100, "to_type": "contacts", "to_id": "p"}
    reply = admin.post("/associations", link)
    assert (reply.status, reply.body["errors"][0]["path"]) == (400, "from_id")


def cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def test_forged_history_cursors_are_400(stack: Stack) -> None:
    admin = seeded(stack)
    created = admin.post(
        "/definitions/from-templates", {"name": "H", "segments": ["all-companies"]}
    )
    did = created.body["id"]
    path = f"/definitions/{did}/records/companies/c1/history"
    pk = f"acme#{did}#companies#c1"
    forged = [
        "not-base64!",
        cursor([1, 2]),
        cursor({"pk": {"S": pk}}),
        cursor({"pk": {"S": pk}, "sk": {"N": "1"}}),
        cursor({"pk": {"S": pk}, "sk": {"S": ""}}),
        cursor({"pk": {"S": pk}, "sk": {"S": "x"}, "extra": {"S": "y"}}),
        cursor({"pk": {"S": "acme#" + did + "#companies#c2"}, "sk": {"S": "x"}}),
        cursor({"pk": {"S": "rival#x"}, "sk": {"S": "x"}}),
    ]
    for text in forged:
        reply = admin.get(path, query={"cursor": text})
        assert reply.status == 400, (text, reply.body)
        assert reply.body["errors"][0]["path"] == "cursor"


def test_a_viewer_gets_403_before_any_body_check(stack: Stack) -> None:
    seeded(stack)
    viewer = stack.viewer("acme")
    for method, path, body in [
        ("PUT", "/segments/s", {"nonsense": True}),
        ("PUT", "/records/companies/c1", {"props": {}}),
        ("POST", "/definitions", {}),
        ("POST", "/events", "not a list"),
        ("DELETE", "/definitions/no-such", None),
    ]:
        reply = viewer.request(method, path, body)
        assert reply.status == 403, (method, path, reply.body)
    # reading is theirs, testing a record too (it writes nothing)
    assert viewer.get("/segments/all-companies").status == 200
    assert viewer.post("/definitions/no-such/test", {"record_id": "c1"}).status == 404


def test_a_form_body_is_415_and_an_unknown_route_404(stack: Stack) -> None:
    admin = seeded(stack)
    reply = admin.request(
        "PUT",
        "/segments/s",
        raw_body="name=S",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 415
    assert admin.get("/no/such/route").status == 404


def test_a_bug_answers_a_problem_with_a_request_id(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = seeded(stack)
    logged = io.StringIO()
    sink = logging.StreamHandler(logged)
    sink.setFormatter(stack.api.logger.registered_formatter)
    stack.api.logger.addHandler(sink)

    def broken(*_: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(stack.api.use_cases().segments, "list_segments", broken)
    reply = admin.get("/segments")
    assert reply.status == 500
    assert set(reply.body) == {"message", "request_id"}
    assert "secret internals" not in json.dumps(reply.body)
    stack.api.logger.removeHandler(sink)
    line = json.loads(logged.getvalue().splitlines()[-1])  # logged under the same id
    assert (line["correlation_id"], line["exception_name"]) == (
        reply.body["request_id"],
        "RuntimeError",
    )


def test_a_segment_body_may_repeat_its_id_but_not_another(stack: Stack) -> None:
    admin = seeded(stack)
    same = {"id": "s1", "name": "S", "object_type": "companies"}
    assert admin.put("/segments/s1", same).status == 200
    reply = admin.put("/segments/s2", same)
    assert (reply.status, reply.body["errors"][0]["path"]) == (400, "id")
    assert admin.get("/segments/s2").status == 404
