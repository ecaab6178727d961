"""The next change day: the earliest future day a record's score inputs change by themselves."""

from __future__ import annotations

from healthscore.domain.dataset import Segment
from tests.builders import (
    company,
    condition,
    contact,
    dataset,
    day,
    days_ago,
    definition,
    event,
    event_group,
    link,
    property_group,
    record,
    score_one,
)


def test_an_event_leaving_its_timeframe():
    defn = definition(
        event_group(
            {"event_type": "email_opened", "points": 2, "timeframe": {"value": 30, "unit": "days"}}
        )
    )
    data = dataset(company(), events=(event("email_opened", 10), event("email_opened", 45)))
    assert score_one(defn, data).next_change_day == day(20)  # the 10-day-old event turns 30


def test_the_next_decay_step_and_none_once_fully_decayed():
    defn = definition(
        event_group(
            {"event_type": "meeting_booked", "points": 10},
            decay={"percent": 50, "every": {"value": 1, "unit": "weeks"}},
        )
    )
    assert score_one(
        defn, dataset(company(), events=(event("meeting_booked", 9),))
    ).next_change_day == day(5)
    gone = dataset(company(), events=(event("meeting_booked", 14),))
    assert score_one(defn, gone).next_change_day is None


def test_a_future_event_starts_counting_on_its_day():
    defn = definition(event_group({"event_type": "meeting_booked", "points": 10}))
    assert score_one(
        defn, dataset(company(), events=(event("meeting_booked", -3),))
    ).next_change_day == day(3)


def test_events_without_timeframe_or_decay_never_change_by_themselves():
    defn = definition(event_group({"event_type": "meeting_booked", "points": 10}))
    assert (
        score_one(defn, dataset(company(), events=(event("meeting_booked", 3),))).next_change_day
        is None
    )


def test_events_failing_a_static_condition_are_ignored():
    defn = definition(
        event_group(
            {
                "event_type": "email_opened",
                "points": 2,
                "timeframe": {"value": 30, "unit": "days"},
                "conditions": [
                    {"property": "campaign", "operator": "eq_any", "values": ["Renewal"]}
                ],
            }
        )
    )
    data = dataset(
        company(),
        events=(
            event("email_opened", 10, campaign="Other"),
            event("email_opened", 25, campaign="renewal"),
        ),
    )
    assert score_one(defn, data).next_change_day == day(5)


def test_date_conditions_on_the_record_and_on_associated_records():
    defn = definition(
        property_group(
            {
                "object": "self",
                "points": 5,
                "conditions": [{"property": "last_qbr", "operator": "within_last", "value": 90}],
            }
        ),
        property_group(
            {
                "object": "tickets",
                "points": -5,
                "conditions": [{"property": "opened", "operator": "more_than_ago", "value": 14}],
            },
            name="Tickets",
        ),
    )
    c = company(last_qbr=days_ago(80))  # leaves "within 90 days" in 10 days
    ticket = record("tickets", "t1", opened=days_ago(10))  # "more than 14 days ago" in 5 days
    data = dataset(c, ticket, associations=(link(c, ticket),))
    assert score_one(defn, data).next_change_day == day(5)


def test_segment_date_conditions_count_too():
    recent = Segment(
        "seg-recent",
        "Recent",
        "companies",
        conditions=(condition(property="signed", operator="within_last", value=30),),
    )
    defn = definition(
        property_group(
            {
                "object": "self",
                "points": 1,
                "conditions": [{"property": "signed", "operator": "is_known"}],
            }
        ),
        segments=["seg-recent"],
    )
    data = dataset(company(signed=days_ago(28)), segments=(recent,))
    assert score_one(defn, data).next_change_day == day(2)


def test_contact_filter_date_boundaries_count_for_company_event_rules():
    c, person = company(), contact("p1", last_login=days_ago(5))
    defn = definition(
        event_group(
            {
                "event_type": "meeting_booked",
                "points": 10,
                "association": {
                    "filters": [{"property": "last_login", "operator": "within_last", "value": 7}]
                },
            }
        )
    )
    data = dataset(
        c, person, associations=(link(c, person),), events=(event("meeting_booked", 1, person),)
    )
    assert score_one(defn, data).next_change_day == day(2)
