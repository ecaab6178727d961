"""The HubSpot mapping table (docs/hubspot.md), case by case: which engagements become which
events with which properties, what a record keeps, and which properties an import asks for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from healthscore.domain.conditions import Condition
from healthscore.domain.dataset import Event, Segment
from healthscore.domain.hubspot_mapping import (
    BY_EVENT_TYPE,
    engagement_of,
    engagement_properties,
    events_from,
    properties_read,
    record_from,
)
from healthscore.domain.validation import parse_definition

AT = "2026-06-02T10:35:52.000Z"
OWNER = [("contacts", "p1")]


def one(object_type: str, **properties: str) -> list[Event]:
    return events_from(
        object_type, {"id": "9", "properties": {"hs_timestamp": AT, **properties}}, OWNER
    )


@pytest.mark.parametrize(
    ("object_type", "properties", "event_type", "carried"),
    [
        (
            "calls",
            {"hs_call_status": "COMPLETED", "hs_call_duration": "109400",
             "hs_activity_type": "Check-in", "hs_call_disposition": "Connected"},
            "call_ended",
            {"duration_seconds": 109, "call_type": "Check-in", "outcome": "Connected"},
        ),
        ("meetings", {"hs_activity_type": "QBR", "hs_meeting_outcome": "COMPLETED"},
         "meeting_booked", {"meeting_type": "QBR", "outcome": "COMPLETED"}),
        ("emails", {"hs_email_direction": "INCOMING_EMAIL", "hs_email_subject": "Re: renewal"},
         "email_replied", {"subject": "Re: renewal"}),
        ("emails", {"hs_email_direction": "EMAIL"}, "sales_email_sent", {}),
        ("emails", {"hs_email_direction": "FORWARDED_EMAIL"}, "sales_email_sent", {}),
        ("notes", {}, "custom:note_logged", {}),
    ],
)  # fmt: skip
def test_each_engagement_becomes_its_event(
    object_type: str, properties: dict[str, str], event_type: str, carried: dict[str, object]
) -> None:
    [event] = one(object_type, **properties)
    assert (event.type, dict(event.properties)) == (event_type, carried)
    assert (event.id, event.object_type, event.object_id) == (f"{object_type}-9", "contacts", "p1")
    assert event.occurred_at == datetime(2026, 6, 2, 10, 35, 52, tzinfo=UTC)


def test_what_is_not_an_event() -> None:
    assert one("calls", hs_call_status="NO_ANSWER") == []  # a call nobody took
    assert one("calls") == []
    assert one("emails", hs_email_direction="DRAFT") == []
    assert (
        events_from("calls", {"id": "1", "properties": {"hs_call_status": "COMPLETED"}}, OWNER)
        == []
    )
    # one event per associated owner: a contact and a company each get it
    both = events_from("notes", {"id": "2", "properties": {"hs_timestamp": AT}},
                       [("contacts", "p1"), ("companies", "c1")])  # fmt: skip
    assert [(e.object_type, e.object_id) for e in both] == [("contacts", "p1"), ("companies", "c1")]


@pytest.mark.parametrize("event_type", sorted(BY_EVENT_TYPE))
def test_every_mapped_event_goes_to_hubspot_and_comes_back(event_type: str) -> None:
    properties = {"call_ended": {"duration_seconds": 95, "call_type": "Support"},
                  "meeting_booked": {"meeting_type": "Kickoff"},
                  "email_replied": {"subject": "Thanks"}}.get(event_type, {})  # fmt: skip
    event = Event(
        "e1", event_type, datetime(2026, 3, 1, 9, tzinfo=UTC), "contacts", "p1", properties
    )
    engagement = engagement_of(event)
    assert engagement is not None
    object_type, hubspot = engagement
    assert set(hubspot) <= set(engagement_properties(object_type))
    [back] = events_from(object_type, {"id": "e1", "properties": hubspot}, OWNER)
    assert (back.type, back.occurred_at, dict(back.properties)) == (
        event.type, event.occurred_at, properties,
    )  # fmt: skip
    assert (
        engagement_of(Event("e2", "page_visited", event.occurred_at, "contacts", "p1", {})) is None
    )


def test_a_record_keeps_the_properties_asked_for_as_hubspot_sent_them() -> None:
    item = {"id": "42", "properties": {"nps_score": "9", "zip": "02134", "name": "", "x": "y"}}
    record = record_from("companies", item, frozenset({"nps_score", "zip", "name"}))
    assert (record.key, dict(record.properties)) == (
        ("companies", "42"),
        {"nps_score": "9", "zip": "02134"},
    )


def test_an_import_asks_for_what_definitions_and_segments_read() -> None:
    definition = parse_definition(
        {
            "name": "H", "object_type": "companies", "segments": ["s"],
            "groups": [
                {"name": "P", "kind": "property", "max_points": 50, "rules": [
                    {"object": "self", "points": 10,
                     "conditions": [{"property": "nps_score", "operator": "gte", "value": 9}]},
                    {"object": "tickets", "points": -5, "conditions": [
                        {"property": "priority", "operator": "eq_any", "values": ["HIGH"]}]},
                ]},
                {"name": "E", "kind": "event", "max_points": 20, "rules": [
                    {"event_type": "meeting_booked", "points": 5,
                     "association": {"filters": [{"property": "role", "operator": "is_known"}]}},
                ]},
            ],
            "thresholds": [{"label": "Low", "min": 0, "color": "#aa0000"}],
            "properties": {"score": {"name": "h_score", "label": "H"},
                           "status": {"name": "h_status", "label": "H status"}},
        }
    )  # fmt: skip
    segment = Segment(
        "s", "S", "companies", (Condition(property="tier", operator="eq_any", values=["A"]),)
    )
    wanted = properties_read([definition], [segment])
    assert wanted["companies"] == {"nps_score", "tier", "h_score", "h_status", "name", "domain"}
    assert wanted["tickets"] == {"priority", "subject"}
    assert wanted["contacts"] == {"role", "email", "firstname", "lastname"}
    assert wanted["deals"] == {"dealname"}
