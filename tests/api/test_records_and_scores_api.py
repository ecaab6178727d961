"""Records, associations and events through the API; a turned-on score's job; the scoring views
(test a record, preview, what-if, report, health card, history); tenant isolation and
permissions on every route."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.client import LambdaContext, load_function
from tests.api.conftest import Stack
from tests.api.test_definitions_api import SEGMENT, minimal, seeded

AS_OF = "2026-06-15T12:00:00Z"


def portfolio(stack: Stack, account: str = "acme") -> tuple[Any, dict[str, Any]]:
    """Three companies (NPS 10, 9, 3), a contact with a meeting, and a live score."""
    admin = seeded(stack, account)
    for cid, nps in (("c1", 10), ("c2", 9), ("c3", 3)):
        reply = admin.put(
            f"/records/companies/{cid}",
            {"properties": {"nps_score": nps, "industry": "Software" if cid != "c3" else "Retail"}},
        )
        assert reply.status == 200, reply.body
    assert admin.put("/records/contacts/p1", {"properties": {"email": "a@x.io"}}).status == 200
    link = {
        "from_type": "companies",
        "from_id": "c1",
        "to_type": "contacts",
        "to_id": "p1",
        "labels": ["Champion"],
    }
    assert admin.post("/associations", link).status == 201
    events = [
        {
            "id": "e1",
            "type": "meeting_booked",
            "occurred_at": "2026-06-01T10:00:00Z",
            "object_type": "contacts",
            "object_id": "p1",
            "properties": {},
        }
    ]
    stored = admin.post("/events", events)
    assert stored.body == {"received": 1, "stored": 1, "duplicates": 0}
    assert admin.post("/events", events).body == {"received": 1, "stored": 0, "duplicates": 1}
    definition = admin.post("/definitions", minimal()).body
    on = admin.post(
        f"/definitions/{definition['id']}/turn-on", query={"version": definition["version"]}
    )
    assert on.status == 202
    # The recompute function takes the job from the queue, as the SQS trigger delivers it.
    recompute = load_function("recompute")
    recompute.store.cache_clear()
    recompute.settings.cache_clear()
    event = {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": "r",
                "body": json.dumps(message),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:recompute",
                "awsRegion": "us-east-1",
            }
            for i, message in enumerate(stack.queued_jobs())
        ]
    }
    assert len(event["Records"]) == 1
    assert recompute.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}
    recompute.store.cache_clear()
    recompute.settings.cache_clear()
    return admin, on.body


def test_turning_on_computes_every_record_and_records_history(stack: Stack) -> None:
    admin, on = portfolio(stack)
    did = on["definition"]["id"]
    job = admin.get(f"/jobs/{on['job']['id']}").body
    assert job["status"] == "succeeded"
    assert job["detail"]["scored"] == 3
    card = admin.get(f"/definitions/{did}/records/companies/c1/health")
    assert card.status == 200
    assert (card.body["score"], card.body["status"]) == (10, "Healthy")
    assert card.body["last_change"]["direction"] == "up"
    assert card.body["last_change"]["why"]["kind"] == "recompute"
    low = admin.get(f"/definitions/{did}/records/companies/c3/health").body
    assert (low["score"], low["status"]) == (0, "At risk")
    history = admin.get(f"/definitions/{did}/records/companies/c1/history", query={"limit": 1})
    assert history.status == 200
    assert [(e["before"], e["after"]) for e in history.body["entries"]] == [(None, 10)]
    assert history.body["next_cursor"] is None or isinstance(history.body["next_cursor"], str)


def test_the_stored_scores_list_counts_by_status_and_the_lowest_first(stack: Stack) -> None:
    admin, on = portfolio(stack)
    did = on["definition"]["id"]
    listed = admin.get(f"/definitions/{did}/scores", query={"limit": 2})
    assert listed.status == 200
    assert listed.body["total"] == 3
    assert listed.body["counts"] == {"Healthy": 2, "At risk": 1}  # the minimal score's two
    assert [(c["id"], c["score"]) for c in listed.body["lowest"]] == [("c3", 0), ("c1", 10)]
    healthy = admin.get(f"/definitions/{did}/scores", query={"status": "Healthy"}).body
    assert [c["id"] for c in healthy["lowest"]] == ["c1", "c2"]  # ties: by id
    bad = admin.get(f"/definitions/{did}/scores", query={"status": "Great"})
    assert bad.status == 400
    assert bad.body["errors"][0]["path"] == "status"


def test_test_preview_what_if_and_report(stack: Stack) -> None:
    admin, on = portfolio(stack)
    did = on["definition"]["id"]
    tested = admin.post(
        f"/definitions/{did}/test", {"record_id": "c2", "revision": "live", "as_of": AS_OF}
    )
    assert tested.status == 200, tested.body
    assert tested.body["score"] == 10
    assert tested.body["groups"][0]["rules"][0]["matched"] == 1
    preview = admin.get(
        f"/definitions/{did}/preview", query={"revision": "live", "as_of": AS_OF}
    ).body
    assert preview["scored"] == 3
    assert [s["count"] for s in preview["statuses"]] == [2, 1]
    assert sum(b["count"] for b in preview["bins"]) == 3
    # A draft revision that rewards NPS ≥ 9 with 5 points moves both promoters to At risk.
    version = admin.get(f"/definitions/{did}").body["version"]
    assert (
        admin.put(f"/definitions/{did}", minimal(points=5), query={"version": version}).status
        == 200
    )
    what_if = admin.get(f"/definitions/{did}/what-if", query={"as_of": AS_OF}).body
    assert what_if["compared"] == 3
    assert what_if["changed_status"] == 2
    assert what_if["transitions"] == [{"from": "Healthy", "to": "At risk", "count": 2}]
    report = admin.get(f"/definitions/{did}/report", query={"by": "industry", "as_of": AS_OF}).body
    assert [(r["industry"], r["records"], r["average"]) for r in report["rows"]] == [
        ("Software", 2, 10.0),  # the biggest group first, as in `healthscore report`
        ("Retail", 1, 0.0),
    ]
    by_segment = admin.get(
        f"/definitions/{did}/report", query={"by": "segment", "as_of": AS_OF}
    ).body
    assert by_segment["rows"][0]["records"] == 3
    unknown = admin.get(f"/definitions/{did}/report", query={"by": "colour"})
    assert unknown.status == 400
    assert unknown.body["errors"][0]["path"] == "by"


def test_the_report_words_values_as_the_analytics_report_does(stack: Stack) -> None:
    """A list shows as its values joined with ", ", a missing value as "(unknown)"; groups
    come biggest first, then by name — the same rows `healthscore report` prints."""
    admin, on = portfolio(stack)
    did = on["definition"]["id"]
    for cid, industry in (("c4", ["Media", "Retail"]), ("c5", None), ("c6", "")):
        properties = {"nps_score": 5} | ({"industry": industry} if industry is not None else {})
        assert admin.put(f"/records/companies/{cid}", {"properties": properties}).status == 200
    report = admin.get(f"/definitions/{did}/report", query={"by": "industry", "as_of": AS_OF}).body
    assert [(r["industry"], r["records"]) for r in report["rows"]] == [
        ("(unknown)", 2),
        ("Software", 2),
        ("Media, Retail", 1),
        ("Retail", 1),
    ]


def test_percent_encoded_paths_are_decoded_once_as_generated_clients_send_them(
    stack: Stack,
) -> None:
    admin = seeded(stack, "acme")
    # a generated client encodes ':' '@' and ' ' in path parameters
    put = admin.put("/records/custom%3Awidgets/jane%40acme.com%20x", {"properties": {"n": 1}})
    assert put.status == 200, put.body
    stored = stack.store.record("acme", ("custom:widgets", "jane@acme.com x"))
    assert stored is not None
    assert stored.properties == {"n": 1}
    # read back encoded or not, it is the same record; nothing was stored encoded
    assert admin.get("/records/custom%3Awidgets/jane%40acme.com%20x").status == 200
    assert admin.get("/records/custom:widgets/jane@acme.com x").status == 200
    assert stack.store.record("acme", ("custom%3Awidgets", "jane%40acme.com%20x")) is None
    # and an encoded '/' (or '#', '?') stays encoded in the id instead of ending the segment
    assert admin.put("/records/companies/a%2Fb", {"properties": {}}).status == 200
    assert stack.store.record("acme", ("companies", "a%2Fb")) is not None


def test_records_associations_and_events_round_trip(stack: Stack) -> None:
    admin, _ = portfolio(stack)
    record = admin.get("/records/companies/c1").body
    assert record["properties"]["nps_score"] == 10
    assert record["associations"] == [
        {"object_type": "contacts", "id": "p1", "labels": ["Champion"]}
    ]
    assert admin.get("/records/contacts/p1").body["associations"][0]["id"] == "c1"
    link = {"from_type": "contacts", "from_id": "p1", "to_type": "companies", "to_id": "c1"}
    assert admin.delete("/associations", link).status == 204
    assert admin.get("/records/companies/c1").body["associations"] == []
    assert admin.delete("/associations", link).status == 404
    assert admin.delete("/records/contacts/p1").status == 204
    assert admin.get("/records/contacts/p1").status == 404
    # Ids with the key separator are data, not key syntax.
    assert admin.put("/records/companies/a%23b", {"properties": {}}).status == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "/records/companies/c9", {"properties": {"x": {"nested": 1}}}, "properties.x"),
        ("PUT", "/records/companies/c9", {"props": {"nps_score": 9}}, "props"),
        ("PUT", "/records/companies/c9", {"lists": "vip"}, "lists"),
        ("PUT", "/records/planets/c9", {"properties": {}}, "object_type"),
        (
            "POST",
            "/associations",
            {"from_type": "companies", "from_id": "c1", "to_type": "contacts"},
            "to_id",
        ),
        (
            "POST",
            "/events",
            [
                {
                    "id": "e",
                    "type": "meeting_booked",
                    "occurred_at": "2026-06-01T10:00:00",
                    "object_type": "contacts",
                    "object_id": "p1",
                }
            ],
            "[0].occurred_at",
        ),
        ("POST", "/events", {"id": "e"}, "body"),
        (
            "PUT",
            "/segments/s1",
            {
                "name": "S",
                "object_type": "companies",
                "conditions": [{"property": "x", "operator": "nope"}],
            },
            "conditions[0].operator",
        ),
        ("GET", "/definitions/d/preview?revision=maybe", None, "revision"),
        ("POST", "/definitions/d/test", {"revision": "live"}, "record_id"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    stack: Stack, method: str, path: str, body: Any, field: str
) -> None:
    admin = seeded(stack)
    path, _, query = path.partition("?")
    params = dict(p.split("=") for p in query.split("&")) if query else None
    reply = admin.request(method, path, body, query=params)
    assert reply.status == 400, reply.body
    paths = [e["path"] for e in reply.body["errors"]]
    assert any(p == field or p.endswith(field) for p in paths), paths


def test_another_account_can_neither_read_nor_change_anything(stack: Stack) -> None:
    admin, on = portfolio(stack, "acme")
    did, job = on["definition"]["id"], on["job"]["id"]
    version = admin.get(f"/definitions/{did}").body["version"]
    group = on["definition"]["live"]["groups"][0]
    rule = group["rules"][0]["id"]
    assert admin.put("/segments/acme-only", SEGMENT).status == 200
    rival = stack.admin("rival")
    assert rival.put("/segments/all-companies", SEGMENT).status == 200
    assert rival.delete("/segments/acme-only").status == 404
    reads = [
        "/segments/acme-only",
        f"/definitions/{did}",
        f"/definitions/{did}/preview",
        f"/definitions/{did}/what-if",
        f"/definitions/{did}/report?by=industry",
        f"/definitions/{did}/records/companies/c1/health",
        f"/definitions/{did}/records/companies/c1/history",
        f"/definitions/{did}/scores",
        f"/jobs/{job}",
        "/records/companies/c1",
    ]
    for path in reads:
        p, _, q = path.partition("?")
        reply = rival.get(p, query=dict([q.split("=")]) if q else None)
        assert reply.status == 404, (path, reply.status, reply.body)
    assert rival.get("/definitions").body == []
    assert rival.get("/output-properties").body == []
    assert [s["id"] for s in rival.get("/segments").body] == ["all-companies"]
    q = {"version": version}
    writes = [
        ("PUT", f"/definitions/{did}", minimal(), q),
        ("DELETE", f"/definitions/{did}", None, q),
        ("POST", f"/definitions/{did}/turn-on", None, q),
        ("POST", f"/definitions/{did}/update", None, q),
        ("POST", f"/definitions/{did}/turn-off", None, q),
        ("POST", f"/definitions/{did}/groups/{group['id']}/clone", None, q),
        ("DELETE", f"/definitions/{did}/groups/{group['id']}", None, q),
        ("POST", f"/definitions/{did}/rules/{rule}/clone", None, q),
        ("DELETE", f"/definitions/{did}/rules/{rule}", None, q),
        ("POST", f"/definitions/{did}/test", {"record_id": "c1"}, None),
        ("DELETE", "/records/companies/c1", None, None),
        (
            "DELETE",
            "/associations",
            {"from_type": "companies", "from_id": "c1", "to_type": "contacts", "to_id": "p1"},
            None,
        ),
    ]
    for method, path, body, query in writes:
        reply = rival.request(method, path, body, query=query)
        assert reply.status == 404, (method, path, reply.status, reply.body)
    # Writes by the rival to the same ids land in the rival's own account only.
    assert rival.put("/records/companies/c1", {"properties": {"nps_score": 0}}).status == 200
    assert (
        rival.post(
            "/events",
            [
                {
                    "id": "e1",
                    "type": "meeting_booked",
                    "occurred_at": "2026-06-01T10:00:00Z",
                    "object_type": "contacts",
                    "object_id": "p1",
                }
            ],
        ).body["stored"]
        == 1
    )
    assert admin.get("/records/companies/c1").body["properties"]["nps_score"] == 10
    assert admin.get(f"/definitions/{did}").body["state"] == "live"
    assert admin.get(f"/definitions/{did}/records/companies/c1/health").body["score"] == 10
    assert admin.get(f"/definitions/{did}").body["version"] == version


def test_readers_read_and_only_admins_with_a_service_seat_change(stack: Stack) -> None:
    admin, on = portfolio(stack)
    did = on["definition"]["id"]
    viewer = stack.viewer("acme")
    assert viewer.get(f"/definitions/{did}").status == 200
    assert viewer.get("/segments").status == 200
    version = {"version": on["definition"]["version"]}
    for method, path, body, query in [
        ("POST", "/definitions", minimal(), None),
        ("PUT", f"/definitions/{did}", minimal(), version),
        ("POST", f"/definitions/{did}/turn-off", None, version),
        ("DELETE", f"/definitions/{did}", None, version),
        ("PUT", "/segments/s2", SEGMENT, None),
        ("PUT", "/records/companies/c1", {"properties": {}}, None),
        ("POST", "/events", [], None),
    ]:
        reply = viewer.request(method, path, body, query=query)
        assert reply.status == 403, (method, path, reply.body)
        assert "manage_customer_success_settings" in reply.body["message"]
    no_token = type(admin)(admin.module, None)
    assert no_token.get("/definitions").status == 401


def test_the_health_card_shows_the_trend_over_its_window(stack: Stack) -> None:
    from datetime import UTC, datetime, timedelta

    from healthscore.domain.changes import PropertiesChanged
    from healthscore.services.incremental import IncrementalScorer

    admin, on = portfolio(stack)
    did = on["definition"]["id"]
    now = datetime.now(UTC)
    stamp = int(now.timestamp() * 1000)
    for days_ago, nps, later in ((40, 10, 1_000), (10, 3, 2_000)):  # Healthy then, At risk now
        scorer = IncrementalScorer(stack.store, clock=lambda d=days_ago: now - timedelta(days=d))
        change = PropertiesChanged("companies", "c3", {"nps_score": nps}, stamp + later)
        scorer.apply("acme", change)
    card = admin.get(f"/definitions/{did}/records/companies/c3/health").body
    assert card["compare"]["days"] == 30  # no card.compare_days: 30
    assert (card["compare"]["score_then"], card["compare"]["status_then"]) == (10, "Healthy")
    assert (card["score"], card["compare"]["delta"]) == (0, -10)
    recent = admin.get(
        f"/definitions/{did}/records/companies/c3/health", query={"compare": "5d"}
    ).body["compare"]
    assert (recent["days"], recent["score_then"], recent["delta"]) == (5, 0, 0)
    before = admin.get(
        f"/definitions/{did}/records/companies/c3/health", query={"compare": "60d"}
    ).body["compare"]
    assert (before["score_then"], before["status_then"], before["delta"]) == (None, None, None)
    for bad in ("400d", "30", "0d", "week"):
        reply = admin.get(f"/definitions/{did}/records/companies/c3/health", query={"compare": bad})
        assert reply.status == 400, bad
        assert reply.body["errors"][0]["path"].endswith("compare"), reply.body


def test_a_definition_sets_the_cards_window_within_a_year(stack: Stack) -> None:
    admin = seeded(stack)
    weekly = admin.post("/definitions", {**minimal(), "card": {"compare_days": 7}})
    assert weekly.status == 201, weekly.body
    assert weekly.body["draft"]["card"] == {"compare_days": 7}
    refused = admin.post("/definitions", {**minimal("Other"), "card": {"compare_days": 0}})
    assert refused.status == 400
    assert [e["path"] for e in refused.body["errors"]] == ["card.compare_days"]


def test_a_records_score_properties_are_shown_read_only_and_never_set(stack: Stack) -> None:
    admin, _on = portfolio(stack)
    outputs = {p["kind"]: p["name"] for p in admin.get("/output-properties").body}
    record = admin.get("/records/companies/c1").body
    assert record["properties"][outputs["score"]] == 10
    assert record["properties"][outputs["status"]] == "Healthy"
    assert record["read_only"] == sorted(outputs.values())
    assert record["properties"]["nps_score"] == 10  # its own, beside them
    refused = admin.put(
        "/records/companies/c1", {"properties": {"nps_score": 9, outputs["status"]: "Healthy"}}
    )
    assert refused.status == 400
    assert refused.body["errors"][0]["path"] == f"properties.{outputs['status']}"
    assert admin.get("/records/companies/c1").body["properties"]["nps_score"] == 10
    plain = admin.get("/records/contacts/p1").body  # no score of contacts: nothing read-only
    assert plain["read_only"] == []
