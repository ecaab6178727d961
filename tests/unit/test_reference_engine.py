"""docs/scoring-semantics.md, rule by rule, on small hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from healthscore.domain.dataset import Segment
from healthscore.domain.definition import DefinitionError
from healthscore.domain.points import divide_half_up
from healthscore.domain.reference_engine import score
from tests.builders import (
    ALL_CONTACTS,
    AS_OF,
    company,
    condition,
    contact,
    dataset,
    definition,
    event,
    event_group,
    link,
    points,
    property_group,
    record,
    rule_points,
    score_one,
)

# --- the seed document's own examples ------------------------------------------------------------


def _email_views(views: int) -> float:
    defn = definition(
        event_group(
            {
                "event_type": "email_opened",
                "points": 2,
                "timeframe": {"value": 30, "unit": "days"},
                "frequency": {"op": "between", "min": 1, "max": 3},
            },
            {
                "event_type": "email_opened",
                "points": 5,
                "timeframe": {"value": 30, "unit": "days"},
                "frequency": {"op": "at_least", "min": 4},
            },
        )
    )
    data = dataset(company(), events=tuple(event("email_opened", i) for i in range(views)))
    return points(score_one(defn, data))


@pytest.mark.parametrize(("views", "expected"), [(0, 0), (1, 2), (3, 2), (4, 5), (7, 5)])
def test_email_viewed_one_to_three_times_earns_2_and_four_or_more_earns_5(views, expected):
    assert _email_views(views) == expected


def test_one_point_form_submitted_five_times_with_a_limit_of_2_earns_2():
    defn = definition(event_group({"event_type": "form_submitted", "points": 1, "limit": 2}))
    data = dataset(company(), events=tuple(event("form_submitted", i) for i in range(5)))
    result = score_one(defn, data)
    assert points(result) == 2
    assert result.groups[0].rules[0].uncapped_hundredths == 500


@pytest.mark.parametrize(
    ("region", "employees", "expected"),
    [("Northeast", 51, 10), ("northeast", "120", 10), ("Northeast", 50, 0), ("West", 500, 0)],
)
def test_region_northeast_and_more_than_50_employees_earns_10(region, employees, expected):
    defn = definition(
        property_group(
            {
                "object": "self",
                "points": 10,
                "conditions": [
                    {"property": "region", "operator": "eq_any", "values": ["Northeast"]},
                    {"property": "employees", "operator": "gt", "value": 50},
                ],
            }
        )
    )
    assert points(score_one(defn, dataset(company(region=region, employees=employees)))) == expected


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"call_type": "outbound", "duration_seconds": "901"}, 10),
        ({"call_type": "outbound", "duration_seconds": 900}, 0),
        ({"duration_seconds": 2000}, 0),
        ({"call_type": "", "duration_seconds": 2000}, 0),
    ],
)
def test_call_type_known_and_duration_over_15_minutes_earns_10(properties, expected):
    defn = definition(
        event_group(
            {
                "event_type": "call_ended",
                "points": 10,
                "conditions": [
                    {"property": "call_type", "operator": "is_known"},
                    {"property": "duration_seconds", "operator": "gt", "value": 900},
                ],
            }
        )
    )
    data = dataset(company(), events=(event("call_ended", 1, **properties),))
    assert points(score_one(defn, data)) == expected


def test_ten_points_with_50_percent_monthly_decay_is_5_after_a_month():
    defn = definition(
        event_group(
            {"event_type": "meeting_booked", "points": 10},
            decay={"percent": 50, "every": {"value": 1, "unit": "months"}},
        )
    )
    assert points(score_one(defn, dataset(company(), events=(event("meeting_booked", 29),)))) == 10
    assert points(score_one(defn, dataset(company(), events=(event("meeting_booked", 30),)))) == 5


# --- decay ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "expected"),
    [(0, 10), (6, 10), (7, 7), (13, 7), (14, 4), (20, 4), (21, 1), (27, 1), (28, 0), (400, 0)],
)
def test_decay_steps_down_by_whole_periods_until_zero(age, expected):
    # 30% every week: 100% → 70% → 40% → 10% → 0%
    defn = definition(
        event_group(
            {"event_type": "page_visited", "points": 10},
            decay={"percent": 30, "every": {"value": 1, "unit": "weeks"}},
        )
    )
    assert (
        points(score_one(defn, dataset(company(), events=(event("page_visited", age),))))
        == expected
    )


def test_fully_decayed_events_do_not_count_even_in_min_or_avg():
    # Without the rule, min over {10 (fresh), 0 (fully decayed)} would be 0.
    defn = definition(
        event_group(
            {"event_type": "meeting_booked", "points": 10, "association": {"aggregation": "min"}},
            decay={"percent": 100, "every": {"value": 10, "unit": "days"}},
        )
    )
    data = dataset(company(), events=(event("meeting_booked", 1), event("meeting_booked", 15)))
    result = score_one(defn, data)
    assert points(result) == 10
    assert result.groups[0].rules[0].matched == 1


def test_decay_works_in_hundredths_and_avg_rounds_half_away_from_zero():
    # 3 points at 100%, 85%, 85% (15% monthly): 300 + 255 + 255 = 810 hundredths; avg = 270.
    # 1 point at 100% and 85% → avg (100 + 85) / 2 = 92.5 → 93 hundredths (0.93).
    decay = {"percent": 15, "every": {"value": 1, "unit": "months"}}
    defn = definition(
        event_group(
            {"event_type": "email_replied", "points": 1, "association": {"aggregation": "avg"}},
            decay=decay,
        )
    )
    data = dataset(company(), events=(event("email_replied", 2), event("email_replied", 31)))
    assert points(score_one(defn, data)) == 0.93


def test_months_are_30_days_and_weeks_7():
    defn = definition(
        event_group(
            {
                "event_type": "meeting_booked",
                "points": 10,
                "timeframe": {"value": 2, "unit": "months"},
            },
            {
                "event_type": "email_replied",
                "points": 1,
                "timeframe": {"value": 2, "unit": "weeks"},
            },
        )
    )
    data = dataset(
        company(),
        events=(
            event("meeting_booked", 59),
            event("meeting_booked", 60),
            event("email_replied", 13),
            event("email_replied", 14),
        ),
    )
    result = score_one(defn, data)
    assert rule_points(result, 0, 0) == 10
    assert rule_points(result, 0, 1) == 1


# --- timeframes and time -------------------------------------------------------------------------


@pytest.mark.parametrize(("age", "counts"), [(0, True), (29, True), (30, False), (-1, False)])
def test_timeframe_counts_events_younger_than_n_days_and_future_events_never(age, counts):
    defn = definition(
        event_group(
            {"event_type": "email_opened", "points": 3, "timeframe": {"value": 30, "unit": "days"}}
        )
    )
    result = score_one(defn, dataset(company(), events=(event("email_opened", age),)))
    assert points(result) == (3 if counts else 0)


def test_age_is_counted_in_utc_days_not_hours():
    # 23:30 the day before as-of (12:00) is 1 day old; an event at 00:10 as-of day is 0 days old.
    defn = definition(
        event_group(
            {"event_type": "email_opened", "points": 3, "timeframe": {"value": 1, "unit": "days"}}
        )
    )
    yesterday_late = event("email_opened", 1, hour=23)
    today_early = event("email_opened", 0, hour=0)
    assert points(score_one(defn, dataset(company(), events=(yesterday_late,)))) == 0
    assert points(score_one(defn, dataset(company(), events=(today_early,)))) == 3


def test_an_event_later_on_the_as_of_day_is_not_in_the_future():
    defn = definition(event_group({"event_type": "email_opened", "points": 3}))
    late_today = event("email_opened", 0, hour=23)  # after AS_OF's 12:00, same UTC day
    assert points(score_one(defn, dataset(company(), events=(late_today,)))) == 3


# --- frequency -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "count", "earns"),
    [
        ({"op": "exactly", "min": 2}, 2, True),
        ({"op": "exactly", "min": 2}, 3, False),
        ({"op": "between", "min": 2, "max": 3}, 1, False),
        ({"op": "between", "min": 2, "max": 3}, 3, True),
        ({"op": "at_least", "min": 2}, 5, True),
        ({"op": "at_least", "min": 2}, 1, False),
        ({"op": "at_most", "max": 2}, 0, False),
        ({"op": "at_most", "max": 2}, 2, True),
        ({"op": "at_most", "max": 2}, 3, False),
        ({"op": "at_most", "max": 2, "include_never": True}, 0, True),
    ],
)
def test_frequency_ops_earn_points_once_when_the_count_fits(frequency, count, earns):
    defn = definition(
        event_group({"event_type": "meeting_booked", "points": -7, "frequency": frequency})
    )
    data = dataset(company(), events=tuple(event("meeting_booked", i) for i in range(count)))
    assert points(score_one(defn, data)) == (-7 if earns else 0)


def test_frequency_counts_only_events_in_the_timeframe():
    defn = definition(
        event_group(
            {
                "event_type": "meeting_booked",
                "points": 5,
                "timeframe": {"value": 10, "unit": "days"},
                "frequency": {"op": "at_least", "min": 2},
            }
        )
    )
    data = dataset(company(), events=(event("meeting_booked", 3), event("meeting_booked", 10)))
    assert points(score_one(defn, data)) == 0


# --- limit and aggregations ----------------------------------------------------------------------


def test_limit_caps_negative_rules_too():
    defn = definition(event_group({"event_type": "payment_failed", "points": -10, "limit": 15}))
    data = dataset(company(), events=(event("payment_failed", 1), event("payment_failed", 2)))
    assert points(score_one(defn, data)) == -15


@pytest.mark.parametrize(
    ("aggregation", "expected"), [("sum", 20), ("avg", 6.67), ("min", 2), ("max", 10)]
)
def test_event_aggregations_over_matching_events(aggregation, expected):
    # points_by_value gives the events different values: 10, 8 and 2 → avg 20/3 = 6.67
    defn = definition(
        event_group(
            {
                "event_type": "form_submitted",
                "conditions": [
                    {
                        "property": "form_name",
                        "operator": "eq_any",
                        "values": ["Demo", "Contact us", "Newsletter"],
                        "points_by_value": {"Demo": 10, "Contact us": 8, "Newsletter": 2},
                    }
                ],
                "association": {"aggregation": aggregation},
            }
        )
    )
    data = dataset(
        company(),
        events=(
            event("form_submitted", 1, form_name="Demo"),
            event("form_submitted", 2, form_name="contact US"),
            event("form_submitted", 3, form_name="Newsletter"),
        ),
    )
    assert points(score_one(defn, data)) == expected


@pytest.mark.parametrize(
    ("aggregation", "expected"), [("sum", -15), ("avg", -5), ("min", -5), ("max", -5)]
)
def test_property_rule_aggregates_over_matching_associated_records(aggregation, expected):
    c = company()
    tickets = [
        record("tickets", f"t{i}", status=s)
        for i, s in enumerate(["open", "new", "closed", "open"])
    ]
    defn = definition(
        property_group(
            {
                "object": "tickets",
                "points": -5,
                "conditions": [{"property": "status", "operator": "neq_any", "values": ["closed"]}],
                "association": {"aggregation": aggregation},
            }
        )
    )
    data = dataset(c, *tickets, associations=tuple(link(c, t) for t in tickets))
    result = score_one(defn, data)
    assert points(result) == expected
    assert result.groups[0].rules[0].matched == 3


def test_avg_of_no_matching_records_is_zero():
    defn = definition(
        property_group({"object": "deals", "points": 5, "association": {"aggregation": "avg"}})
    )
    assert points(score_one(defn, dataset(company()))) == 0


def test_avg_of_negative_points_rounds_half_away_from_zero():
    # Three deals worth -1, -1 and -2 → avg -4/3 = -1.333… → -1.33; adding a -2 → -1.5 exactly.
    c = company()
    deals = [
        record("deals", "d1", stage="a"),
        record("deals", "d2", stage="a"),
        record("deals", "d3", stage="b"),
    ]
    defn = definition(
        property_group(
            {
                "object": "deals",
                "conditions": [
                    {
                        "property": "stage",
                        "operator": "eq_any",
                        "values": ["a", "b"],
                        "points_by_value": {"a": -1, "b": -2},
                    }
                ],
                "association": {"aggregation": "avg"},
            }
        )
    )
    data = dataset(c, *deals, associations=tuple(link(c, d) for d in deals))
    assert points(score_one(defn, data)) == -1.33


def test_limit_applies_to_property_rules():
    c = company()
    tickets = [record("tickets", f"t{i}", status="open") for i in range(5)]
    defn = definition(property_group({"object": "tickets", "points": -5, "limit": 12}))
    data = dataset(c, *tickets, associations=tuple(link(c, t) for t in tickets))
    assert points(score_one(defn, data)) == -12


# --- event sources, labels and filters -----------------------------------------------------------


def _company_with_contacts():
    c = company()
    boss = contact("p1", role="VP")
    user = contact("p2", role="Analyst")
    data_links = (link(c, boss, "Decision maker"), link(user, c))
    evs = (
        event("meeting_booked", 1, boss),
        event("meeting_booked", 2, user),
        event("meeting_booked", 3, c),
    )
    return c, boss, user, data_links, evs


def test_a_companies_score_counts_its_own_events_and_all_associated_contacts_events():
    c, boss, user, links, evs = _company_with_contacts()
    defn = definition(event_group({"event_type": "meeting_booked", "points": 10}))
    assert points(score_one(defn, dataset(c, boss, user, associations=links, events=evs))) == 30


def test_association_labels_restrict_contacts_but_the_companys_own_events_always_count():
    c, boss, user, links, evs = _company_with_contacts()
    defn = definition(
        event_group(
            {
                "event_type": "meeting_booked",
                "points": 10,
                "association": {"labels": ["decision MAKER"]},
            }
        )
    )
    result = score_one(defn, dataset(c, boss, user, associations=links, events=evs))
    assert points(result) == 20
    assert sorted(m.source for m in result.groups[0].rules[0].events) == ["own", "p1"]


def test_association_filters_are_conditions_on_the_contact():
    c, boss, user, links, evs = _company_with_contacts()
    defn = definition(
        event_group(
            {
                "event_type": "meeting_booked",
                "points": 10,
                "association": {
                    "filters": [{"property": "role", "operator": "eq_any", "values": ["analyst"]}]
                },
            }
        )
    )
    assert points(score_one(defn, dataset(c, boss, user, associations=links, events=evs))) == 20


def test_several_association_lines_between_two_records_are_one_association_with_all_labels():
    c, boss = company(), contact("p1")
    links = (link(c, boss, "Champion"), link(boss, c, "Billing contact"), link(c, boss))
    evs = (event("meeting_booked", 1, boss),)
    for label in ("Champion", "Billing contact"):
        defn = definition(
            event_group(
                {"event_type": "meeting_booked", "points": 10, "association": {"labels": [label]}}
            )
        )
        result = score_one(defn, dataset(c, boss, associations=links, events=evs))
        assert points(result) == 10, label  # counted once, whichever label is asked for


def test_a_contact_with_events_but_no_record_line_has_no_properties():
    c = company()
    ghost = contact("p9")
    evs = (event("meeting_booked", 1, ghost),)
    links = (link(c, ghost),)
    unknown_role = definition(
        event_group(
            {
                "event_type": "meeting_booked",
                "points": 10,
                "association": {"filters": [{"property": "role", "operator": "is_unknown"}]},
            }
        )
    )
    known_role = definition(
        event_group(
            {
                "event_type": "meeting_booked",
                "points": 10,
                "association": {"filters": [{"property": "role", "operator": "is_known"}]},
            }
        )
    )
    assert points(score_one(unknown_role, dataset(c, associations=links, events=evs))) == 10
    assert points(score_one(known_role, dataset(c, associations=links, events=evs))) == 0


def test_a_contacts_score_counts_only_the_contacts_own_events():
    c, boss = company(), contact("p1")
    evs = (event("meeting_booked", 1, boss), event("meeting_booked", 1, c))
    defn = definition(
        event_group({"event_type": "meeting_booked", "points": 10}), object_type="contacts"
    )
    result = score_one(defn, dataset(c, boss, associations=(link(c, boss),), events=evs))
    assert (result.id, points(result)) == ("p1", 10)


def test_duplicate_events_count_once():
    defn = definition(event_group({"event_type": "meeting_booked", "points": 10}))
    dup = event("meeting_booked", 1, event_id="same")
    assert points(score_one(defn, dataset(company(), events=(dup, dup)))) == 10


def test_event_conditions_read_the_events_properties():
    defn = definition(
        event_group(
            {
                "event_type": "page_visited",
                "points": 1,
                "conditions": [
                    {"property": "page_url", "operator": "contains_any", "values": ["PRICING"]}
                ],
            }
        )
    )
    evs = (
        event("page_visited", 1, page_url="/pricing/enterprise"),
        event("page_visited", 1, page_url="/docs"),
    )
    assert points(score_one(defn, dataset(company(), events=evs))) == 1


def test_property_rule_labels_and_filters_restrict_associated_records():
    c = company()
    d1 = record("deals", "d1", amount="5000")
    d2 = record("deals", "d2", amount=100)
    links = (link(c, d1, "Renewal"), link(c, d2, "Renewal"))
    defn = definition(
        property_group(
            {
                "object": "deals",
                "points": 7,
                "association": {
                    "labels": ["renewal"],
                    "filters": [{"property": "amount", "operator": "gte", "value": 1000}],
                },
            }
        )
    )
    assert points(score_one(defn, dataset(c, d1, d2, associations=links))) == 7


# --- scoring individually ------------------------------------------------------------------------


def test_points_by_value_earns_each_matched_value_once_for_list_properties():
    defn = definition(
        property_group(
            {
                "object": "self",
                "conditions": [
                    {
                        "property": "products",
                        "operator": "eq_any",
                        "values": ["CRM", "Hub", 3],
                        "points_by_value": {"CRM": 5, "hub": 3, "3": 1},
                    }
                ],
            }
        )
    )
    assert points(score_one(defn, dataset(company(products=["crm", "Hub", "crm", "3.0"])))) == 9
    assert points(score_one(defn, dataset(company(products="Other")))) == 0


def test_points_by_value_with_contains_any():
    defn = definition(
        event_group(
            {
                "event_type": "page_visited",
                "conditions": [
                    {
                        "property": "page_url",
                        "operator": "contains_any",
                        "values": ["pricing", "docs"],
                        "points_by_value": {"pricing": 4, "docs": 1},
                    }
                ],
            }
        )
    )
    evs = (event("page_visited", 1, page_url="/docs/pricing"),)
    assert points(score_one(defn, dataset(company(), events=evs))) == 5


# --- groups, score, status -----------------------------------------------------------------------


def test_group_total_is_clamped_to_plus_minus_max_points():
    defn = definition(
        event_group({"event_type": "meeting_booked", "points": 30}, max_points=40, name="Up"),
        event_group({"event_type": "payment_failed", "points": -30}, max_points=25, name="Down"),
    )
    evs = (
        *[event("meeting_booked", i) for i in range(3)],
        *[event("payment_failed", i) for i in range(3)],
    )
    result = score_one(defn, dataset(company(), events=evs))
    assert (points(result, 0), points(result, 1)) == (40, -25)
    assert result.score == 15
    assert result.groups[0].cap_applied
    assert result.groups[1].cap_applied


@pytest.mark.parametrize(("meetings", "payments_failed", "expected"), [(0, 3, 0), (12, 0, 100)])
def test_score_is_clamped_to_0_100(meetings, payments_failed, expected):
    defn = definition(
        event_group({"event_type": "meeting_booked", "points": 10}, max_points=100, name="Up"),
        event_group({"event_type": "payment_failed", "points": -10}, max_points=100, name="Down"),
        event_group({"event_type": "email_opened", "points": 10}, max_points=100, name="More"),
    )
    evs = (
        *[event("meeting_booked", i) for i in range(meetings)],
        *[event("email_opened", i) for i in range(meetings)],
        *[event("payment_failed", i) for i in range(payments_failed)],
    )
    assert score_one(defn, dataset(company(), events=evs)).score == expected


@pytest.mark.parametrize(("half_points", "expected"), [(1, 1), (3, 2), (5, 3)])
def test_score_rounds_half_away_from_zero(half_points, expected):
    # Each event: 1 point at 50% decay = 0.5; n events → n/2 → 0.5→1, 1.5→2, 2.5→3.
    defn = definition(
        event_group(
            {"event_type": "email_opened", "points": 1},
            decay={"percent": 50, "every": {"value": 1, "unit": "days"}},
        )
    )
    evs = tuple(event("email_opened", 1) for _ in range(half_points))
    assert score_one(defn, dataset(company(), events=evs)).score == expected


def test_divide_half_up_rounds_away_from_zero_both_ways():
    assert [divide_half_up(n, 100) for n in (49, 50, 150, 250, -50, -150, -249)] == [
        0,
        1,
        2,
        3,
        -1,
        -2,
        -2,
    ]


@pytest.mark.parametrize(
    ("score_points", "status", "color"),
    [
        (39, "At-risk", "#d64545"),
        (40, "Neutral", "#e0a100"),
        (69, "Neutral", "#e0a100"),
        (70, "Healthy", "#2e9d5b"),
    ],
)
def test_status_is_the_highest_threshold_at_or_below_the_score(score_points, status, color):
    defn = definition(
        property_group(
            {
                "object": "self",
                "points": score_points,
                "conditions": [{"property": "plan", "operator": "is_known"}],
            }
        )
    )
    result = score_one(defn, dataset(company(plan="pro")))
    assert (result.score, result.status, result.color) == (score_points, status, color)


def test_a_negative_total_scores_zero_with_the_lowest_status():
    defn = definition(
        property_group(
            {
                "object": "self",
                "points": -30,
                "conditions": [{"property": "plan", "operator": "is_known"}],
            }
        )
    )
    result = score_one(defn, dataset(company(plan="pro")))
    assert (result.score, result.status) == (0, "At-risk")


# --- scope: segments and lists -------------------------------------------------------------------


def test_only_records_in_any_segment_are_scored_in_id_order():
    big = Segment(
        "seg-big",
        "Big",
        "companies",
        conditions=(condition(property="employees", operator="gte", value=100),),
    )
    strategic = Segment("seg-strategic", "Strategic", "companies", lists=("l-strategic",))
    defn = definition(
        property_group(
            {
                "object": "self",
                "points": 10,
                "conditions": [{"property": "employees", "operator": "is_known"}],
            }
        ),
        segments=["seg-big", "seg-strategic"],
    )
    data = dataset(
        company("c3", employees=500),
        company("c2", employees=5),
        company("c1", lists=("l-strategic",), employees=1),
        contact("p1", employees=900),
        segments=(big, strategic, ALL_CONTACTS),
    )
    assert [r.id for r in score(defn, data, AS_OF)] == ["c1", "c3"]


def test_segment_lists_need_membership_of_one_of_them_and_its_conditions():
    seg = Segment(
        "seg",
        "Seg",
        "companies",
        conditions=(condition(property="region", operator="eq_any", values=["West"]),),
        lists=("a", "b"),
    )
    defn = definition(
        property_group(
            {"object": "self", "points": 1, "conditions": [{"operator": "in_list", "value": "b"}]}
        ),
        segments=["seg"],
    )
    data = dataset(
        company("c1", lists=("b",), region="west"),
        company("c2", lists=("a",), region="East"),
        company("c3", region="West"),
        segments=(seg,),
    )
    results = score(defn, data, AS_OF)
    assert [(r.id, r.score) for r in results] == [("c1", 1)]


def test_not_in_list_condition_in_a_rule():
    defn = definition(
        property_group(
            {
                "object": "self",
                "points": 4,
                "conditions": [{"operator": "not_in_list", "value": "churned"}],
            }
        )
    )
    assert score_one(defn, dataset(company(lists=("vip",)))).score == 4
    assert score_one(defn, dataset(company(lists=("churned",)))).score == 0


def test_unknown_segment_or_segment_of_another_type_is_refused_with_its_path():
    defn = definition(
        property_group({"object": "self", "points": 1}), segments=["seg-contacts", "nope"]
    )
    with pytest.raises(DefinitionError) as error:
        score(defn, dataset(company()), AS_OF)
    assert [i.path for i in error.value.issues] == ["segments[0]", "segments[1]"]


# --- date-relative conditions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "within_30", "more_than_30"),
    [
        ("2026-06-15", True, False),
        ("2026-05-17", True, False),
        ("2026-05-16", False, False),
        ("2026-05-15", False, True),
        ("2026-06-16", False, False),
        ("2026-05-16T23:59:00-05:00", True, False),  # May 17 in UTC
        ("2026-05-17T01:00:00+05:00", False, False),  # May 16 in UTC
        (str(int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)), True, False),
        (int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000), False, True),
        ("not a date", False, False),
    ],
)
def test_within_last_and_more_than_ago_use_utc_days(value, within_30, more_than_30):
    defn = definition(
        property_group(
            {
                "object": "self",
                "points": 1,
                "conditions": [{"property": "last_seen", "operator": "within_last", "value": 30}],
            },
            {
                "object": "self",
                "points": 2,
                "conditions": [{"property": "last_seen", "operator": "more_than_ago", "value": 30}],
            },
        )
    )
    result = score_one(defn, dataset(company(last_seen=value)))
    assert (rule_points(result, 0, 0) == 1, rule_points(result, 0, 1) == 2) == (
        within_30,
        more_than_30,
    )


def test_as_of_instant_is_read_as_its_utc_day():
    defn = definition(
        event_group(
            {"event_type": "email_opened", "points": 3, "timeframe": {"value": 1, "unit": "days"}}
        )
    )
    data = dataset(company(), events=(event("email_opened", 0, hour=10),))
    late_evening_new_york = datetime.fromisoformat("2026-06-14T21:00:00-04:00")  # = 15th 01:00 UTC
    assert points(score_one(defn, data, late_evening_new_york)) == 3
