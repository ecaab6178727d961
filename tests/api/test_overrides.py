"""Overrides through the API: a CSM sets a record's status for a live score with a reason and an
expiry; the card shows it beside the computed score, history says who and why, viewers read it
and cannot set it, and bad input is a 400 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import Stack
from tests.api.test_records_and_scores_api import portfolio


def _until(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_an_override_shows_beside_the_computed_score_and_history_says_who_and_why(
    stack: Stack,
) -> None:
    admin, on = portfolio(stack)
    did = on["definition"]["id"]
    path = f"/definitions/{did}/records/companies/c3"
    body = {"status": "Healthy", "reason": "Renewal signed yesterday", "expires_at": _until(10)}

    set_ = admin.put(f"{path}/override", body)

    assert set_.status == 200, set_.body
    card = admin.get(f"{path}/health").body
    assert (card["status"], card["color"], card["score"]) == ("Healthy", "#5cb85c", 0)
    assert (card["computed_score"], card["computed_status"]) == (0, "At risk")
    assert card["override"]["reason"] == "Renewal signed yesterday"
    assert card["override"]["set_by"] == "admin@acme"
    assert card["override"]["expires_at"] == datetime.fromisoformat(body["expires_at"]).isoformat()
    # a fixed score replaces the first override: one entry per action, newest first
    changed = admin.put(f"{path}/override", {**body, "score": 55, "reason": "Exec sponsor back"})
    assert changed.status == 200, changed.body
    assert (changed.body["score"], changed.body["status"]) == (55, "Healthy")
    cleared = admin.delete(f"{path}/override")
    assert cleared.status == 200, cleared.body
    assert (cleared.body["score"], cleared.body["status"], cleared.body["override"]) == (
        0,
        "At risk",
        None,
    )
    assert cleared.body.get("computed_score") is None
    entries = admin.get(f"{path}/history").body["entries"]
    actions = [
        (e["cause"].get("action"), e["status_before"], e["status_after"], e["after"])
        for e in entries
        if e["cause"]["kind"] == "override"
    ]
    assert actions == [
        ("cleared", "Healthy", "At risk", 0),
        ("changed", "Healthy", "Healthy", 55),
        ("set", "At risk", "Healthy", 0),
    ]
    assert all(
        e["cause"]["by"] == "admin@acme" for e in entries if e["cause"]["kind"] == "override"
    )
    assert "Renewal signed yesterday" in entries[2]["cause"]["summary"]
    assert entries[2]["computed_status"] == "At risk"
    assert admin.delete(f"{path}/override").status == 404  # nothing left to clear


def test_viewers_read_overrides_and_only_managers_set_them(stack: Stack) -> None:
    admin, on = portfolio(stack)
    did = on["definition"]["id"]
    path = f"/definitions/{did}/records/companies/c1"
    body = {"status": "At risk", "reason": "Champion left", "expires_at": _until(30)}
    viewer = stack.viewer("acme")
    assert viewer.put(f"{path}/override", body).status == 403
    assert admin.put(f"{path}/override", body).status == 200
    assert viewer.get(f"{path}/health").body["override"]["reason"] == "Champion left"
    assert viewer.delete(f"{path}/override").status == 403
    # another account sees neither the score nor the override
    other = stack.admin("globex")
    assert other.put(f"{path}/override", body).status == 404


def test_bad_overrides_are_400_naming_the_field_and_change_nothing(stack: Stack) -> None:
    admin, on = portfolio(stack)
    did = on["definition"]["id"]
    path = f"/definitions/{did}/records/companies/c1"
    good = {"status": "At risk", "reason": "Champion left", "expires_at": _until(30)}
    cases = [
        ({**good, "status": "Fine"}, "status"),
        ({**good, "reason": ""}, "reason"),
        ({**good, "reason": "x" * 501}, "reason"),
        ({**good, "score": 101}, "score"),
        ({**good, "expires_at": _until(-1)}, "expires_at"),
        ({**good, "expires_at": _until(366)}, "expires_at"),
        ({**good, "expires_at": "2026-01-01T00:00:00"}, "expires_at"),  # no zone
        ({**good, "expires_at": "next week"}, "expires_at"),
        ({**good, "who": "me"}, "who"),
    ]
    for body, field in cases:
        reply = admin.put(f"{path}/override", body)
        assert reply.status == 400, (field, reply.body)
        assert reply.body["errors"][0]["path"] == field, (field, reply.body)
    assert admin.get(f"{path}/health").body["override"] is None
    assert admin.put(f"/definitions/{did}/records/companies/nobody/override", good).status == 404
    assert admin.put("/definitions/nope/records/companies/c1/override", good).status == 404
    assert admin.get(f"{path}/history").body["entries"][0]["cause"]["kind"] == "recompute"
