"""GET /segments/{id}/members: the records a segment holds, paged in id order, the same set the
engines score; a sparse segment pages through without losing or repeating anyone; cursors are
the API's own and the caller's own."""

from __future__ import annotations

from datetime import UTC, datetime

from healthscore.domain.conditions import Condition
from healthscore.domain.dataset import Record, Segment
from tests.api.conftest import Stack

UPMARKET = {
    "name": "Upmarket",
    "object_type": "companies",
    "conditions": [{"property": "employees", "operator": "gte", "value": 500}],
}


def _fill(stack: Stack, count: int) -> set[str]:
    admin = stack.admin("acme")
    assert admin.put("/segments/upmarket", UPMARKET).status == 200
    expected = set()
    for n in range(count):
        employees = 1_000 if n % 7 == 0 else 50  # one in seven is upmarket
        stack.store.put_record("acme", Record("companies", f"c{n:04d}", {"employees": employees}))
        if employees >= 500:
            expected.add(f"c{n:04d}")
    stack.store.put_record("acme", Record("contacts", "p1", {"employees": 10_000}))
    return expected


def _all_pages(stack: Stack, limit: int) -> tuple[list[str], int]:
    admin = stack.admin("acme")
    seen: list[str] = []
    pages, cursor = 0, None
    while True:
        query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        reply = admin.get("/segments/upmarket/members", query=query)
        assert reply.status == 200, reply.body
        pages += 1
        seen += [m["id"] for m in reply.body["members"]]
        assert all(m["object_type"] == "companies" for m in reply.body["members"])
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return seen, pages


def test_members_are_exactly_the_records_the_segment_holds(stack: Stack) -> None:
    expected = _fill(stack, 2_300)
    seen, pages = _all_pages(stack, 100)
    assert seen == sorted(expected)  # each once, in id order
    assert pages >= 4  # 329 members at ≤ 100 a page
    segment = Segment(
        "upmarket",
        "Upmarket",
        "companies",
        (Condition.model_validate(UPMARKET["conditions"][0]),),
    )
    today = datetime.now(UTC).date()
    held = {r.id for r in stack.store.all_records("acme") if segment.matches(r, today)}
    assert held == expected


def test_a_page_reads_a_bounded_number_of_records_and_cursors_are_checked(stack: Stack) -> None:
    _fill(stack, 2_300)
    admin = stack.admin("acme")
    sparse = admin.get("/segments/upmarket/members", query={"limit": "500"})
    assert sparse.status == 200
    assert len(sparse.body["members"]) < 500  # 2,000 records read, about 286 members
    assert sparse.body["next_cursor"] is not None
    forged = admin.get("/segments/upmarket/members", query={"cursor": "eyJwayI6IHt9fQ=="})
    assert forged.status == 400
    assert forged.body["errors"][0]["path"] == "cursor"
    stranger = stack.admin("rival").get(
        "/segments/upmarket/members", query={"cursor": sparse.body["next_cursor"]}
    )
    assert stranger.status == 404  # no such segment in that account
    assert admin.get("/segments/nope/members").status == 404
