"""Tallies: mergeable, compactable, bounded — and scoring from them matches the reference."""

from __future__ import annotations

import json
from datetime import timedelta

from healthscore.domain.reference_engine import score
from healthscore.domain.tallies import (
    build_tally,
    compact,
    contribution,
    own_tally,
)
from healthscore.domain.tally_scores import score_from_tallies
from healthscore.domain.tally_storage import decode_tally, encode_tally
from healthscore.domain.templates import build_from_templates
from tests.builders import (
    ALL_COMPANIES,
    AS_OF,
    TODAY,
    company,
    contact,
    dataset,
    definition,
    event,
    event_group,
    link,
    property_group,
    record,
)

ENGAGEMENT = definition(
    event_group(
        {
            "event_type": "meeting_booked",
            "points": 10,
            "association": {"labels": ["Champion"], "filters": [], "aggregation": "sum"},
        },
        {"event_type": "email_replied", "points": 4, "timeframe": {"value": 30, "unit": "days"}},
        name="Engagement",
    ),
    property_group(
        {
            "object": "tickets",
            "points": -5,
            "conditions": [{"property": "status", "operator": "neq_any", "values": ["closed"]}],
            "association": {"labels": [], "filters": [], "aggregation": "avg"},
        },
        name="Tickets",
    ),
)


def test_a_contacts_contribution_can_be_added_and_taken_out_again():
    # Given a company whose champion booked two meetings
    acme, champ = company("c1"), contact("p1")
    meetings = (event("meeting_booked", 3, champ), event("meeting_booked", 5, champ))
    data = dataset(acme, champ, associations=(link(acme, champ, "Champion"),), events=meetings)
    tally = own_tally(ENGAGEMENT, acme, [])
    share = contribution(ENGAGEMENT, champ, frozenset({"Champion"}), meetings)

    # When the contact's contribution is added, Then the tally is the one built from the data
    tally.add(share)
    assert tally == build_tally(ENGAGEMENT, data, acme)
    assert score_from_tallies(ENGAGEMENT, tally, AS_OF).groups[0].hundredths == 2000

    # When the label changes (contribution out, the new one in), Then the meetings stop counting
    tally.subtract(share)
    tally.add(contribution(ENGAGEMENT, champ, frozenset({"End user"}), meetings))
    assert tally.events == {}
    assert score_from_tallies(ENGAGEMENT, tally, AS_OF).score == 0


def test_avg_over_associated_records_is_a_histogram_of_points():
    # Given three open tickets and a closed one
    acme = company("c1")
    tickets = [
        record("tickets", f"t{i}", status=s)
        for i, s in enumerate(["open", "open", "waiting", "closed"])
    ]
    data = dataset(acme, *tickets, associations=tuple(link(acme, t) for t in tickets))
    # When tallied, Then one entry (−5 points) counts the three open ones
    tally = build_tally(ENGAGEMENT, data, acme)
    assert dict(tally.records[(1, 0)]) == {(-5, ()): 3}
    assert score_from_tallies(ENGAGEMENT, tally, AS_OF).groups[1].hundredths == -500


def test_compaction_keeps_every_score_from_today_on():
    # Given a year of daily activity on the five pre-defined groups
    templates = build_from_templates("Health", ["seg-companies"])
    acme = company("c1", csm_sentiment="Positive", nps_score=9)
    events = [
        event(kind, age, acme, call_type="Outbound", duration_seconds=1200)
        for age in range(-2, 365)
        for kind in ("meeting_booked", "email_replied", "call_ended", "document_viewed")
    ]
    data = dataset(acme, events=tuple(events), segments=(ALL_COMPANIES,))
    tally = build_tally(templates, data, acme, [ALL_COMPANIES])
    before = {
        days: score_from_tallies(templates, tally, AS_OF + timedelta(days=days))
        for days in (0, 1, 3, 40, 200)
    }

    # When compacted as of today
    compact(templates, tally, TODAY)

    # Then every score from today on is unchanged, and the tally stays small
    for days, expected in before.items():
        assert score_from_tallies(templates, tally, AS_OF + timedelta(days=days)) == expected
    assert tally.size <= 4 * 367
    serialised = json.dumps(
        {str(k): [[list(map(str, e)), n] for e, n in v.items()] for k, v in tally.events.items()}
    )
    assert len(serialised.encode()) < 100_000  # DynamoDB items stop at 400 KB


def test_tallies_score_like_the_reference_engine_on_the_templates():
    templates = build_from_templates("Health", ["seg-companies"])
    acme, champ = company("c1", csm_sentiment="Negative", nps_score="6"), contact("p1")
    data = dataset(
        acme,
        champ,
        associations=(link(acme, champ, "Champion"),),
        events=(
            event("meeting_booked", 10, champ),
            event("meeting_booked", 45, acme),
            event("call_ended", 20, champ, call_type="Inbound", duration_seconds=1000),
        ),
        segments=(ALL_COMPANIES,),
    )
    (expected,) = score(templates, data, AS_OF)
    tally = build_tally(templates, data, acme, [ALL_COMPANIES])
    got = score_from_tallies(templates, tally, AS_OF, [ALL_COMPANIES])
    assert (got.score, got.status, got.next_change_day) == (
        expected.score,
        expected.status,
        expected.next_change_day,
    )
    assert [g.hundredths for g in got.groups] == [g.hundredths for g in expected.groups]


def test_a_tally_survives_its_storage_form_and_scores_the_same():
    # Given a company tally with contact events (filters), own events and ticket records
    acme, champ = company("c1", industry="Software"), contact("p1")
    ticket = record("tickets", "t1", status="open")
    meetings = (event("meeting_booked", 3, champ), event("email_replied", 40, acme))
    data = dataset(
        acme,
        champ,
        ticket,
        associations=(link(acme, champ, "Champion"), link(acme, ticket)),
        events=meetings,
    )
    tally = build_tally(ENGAGEMENT, data, acme)
    # When it is encoded and decoded
    again = decode_tally(encode_tally(tally))
    # Then it is the same tally and scores the same on any day
    assert again == tally
    assert encode_tally(again) == encode_tally(tally)
    for days in (0, 20, 45):
        day = TODAY + timedelta(days=days)
        assert score_from_tallies(ENGAGEMENT, again, day) == score_from_tallies(
            ENGAGEMENT, tally, day
        )
