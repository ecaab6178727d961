"""Overview and top reasons: what a CSM reads first about an at-risk account."""

from __future__ import annotations

from healthscore.domain.reference_engine import score
from healthscore.services.scoring import overview, top_reasons
from tests.builders import (
    AS_OF,
    company,
    dataset,
    definition,
    event_group,
    link,
    property_group,
    record,
    score_one,
)


def _definition():
    return definition(
        event_group(
            {"event_type": "meeting_booked", "points": 10}, max_points=40, name="1:1 Engagement"
        ),
        property_group(
            {
                "object": "tickets",
                "points": -5,
                "conditions": [{"property": "status", "operator": "neq_any", "values": ["closed"]}],
            },
            max_points=30,
            name="Tickets",
        ),
        property_group(
            {
                "object": "self",
                "conditions": [
                    {
                        "property": "sentiment",
                        "operator": "eq_any",
                        "values": ["Good", "Bad"],
                        "points_by_value": {"Good": 10, "Bad": -10},
                    }
                ],
            },
            max_points=10,
            name="Sentiment",
        ),
    )


def test_reasons_list_what_subtracts_most_then_groups_that_earned_little():
    c = company(sentiment="bad")
    tickets = [record("tickets", f"t{i}", status="open") for i in range(3)]
    result = score_one(
        _definition(), dataset(c, *tickets, associations=tuple(link(c, t) for t in tickets))
    )
    assert top_reasons(_definition(), result) == [
        "Tickets: 3× tickets where status is not closed (-15)",
        "Sentiment: sentiment is Bad (-10)",
        "1:1 Engagement: only 0 of 40 points",
    ]


def test_groups_that_can_only_subtract_are_never_a_shortfall():
    result = score_one(_definition(), dataset(company(sentiment="Good")))
    assert top_reasons(_definition(), result) == ["1:1 Engagement: only 0 of 40 points"]


def test_overview_counts_statuses_in_threshold_order_and_lists_the_lowest_first():
    defn = _definition()
    data = dataset(company("c1", sentiment="Good"), company("c2", sentiment="Bad"), company("c3"))
    results = [score_one(defn, dataset(r)) for r in data.records_of("companies")]
    summary = overview(defn, results, lowest=2)
    assert summary.by_status == [
        ("Healthy", "#2e9d5b", 0),
        ("Neutral", "#e0a100", 0),
        ("At-risk", "#d64545", 3),
    ]
    assert [r.id for r in summary.lowest] == ["c2", "c3"]
    assert round(summary.average, 2) == 3.33


def test_at_a_clamped_zero_the_most_negative_points_come_first():
    # Given three companies that all score 0: one with nothing, two with open tickets
    defn = _definition()
    tickets = [record("tickets", f"t{i}", status="open") for i in range(4)]
    quiet = company("a-quiet")
    one = company("b-one-ticket", sentiment="Bad")
    many = company("c-four-tickets", sentiment="Bad")
    links = (link(one, tickets[0]), *(link(many, t) for t in tickets))
    data = dataset(quiet, one, many, *tickets, associations=links)
    results = score(defn, data, AS_OF)
    assert {r.score for r in results} == {0}
    # When the overview lists the most at risk
    summary = overview(defn, results, lowest=3)
    # Then ties at 0 go by the points before clamping, not by id
    assert [r.id for r in summary.lowest] == ["c-four-tickets", "b-one-ticket", "a-quiet"]
