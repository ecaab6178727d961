"""Operators and value coercion (docs/definition-reference.md, Conditions)."""

from __future__ import annotations

from datetime import date

import pytest

from healthscore.domain.values import as_day, as_number, is_missing, parse_instant, values_equal
from tests.builders import TODAY, condition


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12", 12.0),
        (" 7.5 ", 7.5),
        ("1e3", 1000.0),
        ("-0", 0.0),
        ("1,000", None),
        ("inf", None),
        ("nan", None),
        ("", None),
        ("twelve", None),
        (True, None),
        (3, 3.0),
        (10**400, None),
    ],
)
def test_numeric_strings_are_what_float_accepts_and_finite(text, number):
    assert as_number(text) == number


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        ("3", 3, True),
        ("3.0", "3", True),
        (" 3 ", 3.0, True),
        ("ACME", "acme", True),
        ("1,000", 1000, False),
        (True, "true", True),
        (True, 1, False),
        ("abc", "abd", False),
    ],
)
def test_equality_is_numeric_for_numbers_else_case_insensitive_text(left, right, equal):
    assert values_equal(left, right) is equal


@pytest.mark.parametrize("value", [None, "", []])
def test_missing_values(value):
    assert is_missing(value)
    assert not is_missing(0)
    assert not is_missing(" ")
    assert not is_missing(False)


@pytest.mark.parametrize(
    "operator",
    [
        "eq_any",
        "contains_any",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "is_known",
        "within_last",
        "more_than_ago",
    ],
)
@pytest.mark.parametrize("missing", [None, "", [], "absent"])
def test_a_missing_property_fails_every_operator_but_three(operator, missing):
    fields = {"property": "p", "operator": operator}
    fields |= {
        "between": {"values": [0, 10]},
        "eq_any": {"values": ["x"]},
        "contains_any": {"values": ["x"]},
        "is_known": {},
    }.get(operator, {"value": 1})
    properties = {} if missing == "absent" else {"p": missing}
    assert condition(**fields).holds(properties, frozenset(), TODAY) is False


@pytest.mark.parametrize("missing", [None, "", [], "absent"])
@pytest.mark.parametrize(
    "fields",
    [
        {"operator": "is_unknown"},
        {"operator": "neq_any", "values": ["x"]},
        {"operator": "not_contains_any", "values": ["x"]},
    ],
)
def test_is_unknown_neq_any_and_not_contains_any_hold_on_missing(fields, missing):
    properties = {} if missing == "absent" else {"p": missing}
    assert condition(property="p", **fields).holds(properties, frozenset(), TODAY) is True


@pytest.mark.parametrize(
    ("fields", "value", "holds"),
    [
        ({"operator": "eq_any", "values": ["a", "b"]}, ["z", "B"], True),
        ({"operator": "neq_any", "values": ["a", "b"]}, ["z", "B"], False),
        ({"operator": "neq_any", "values": ["a", "b"]}, ["z", "y"], True),
        ({"operator": "contains_any", "values": ["NORTH"]}, "Far northeast", True),
        ({"operator": "not_contains_any", "values": ["north"]}, ["south", "Northwest"], False),
        ({"operator": "contains_any", "values": [34]}, 12345, True),
        ({"operator": "gt", "value": 10}, ["3", "11"], True),
        ({"operator": "gte", "value": 10}, "10", True),
        ({"operator": "lt", "value": 10}, "ten", False),
        ({"operator": "lte", "value": 10}, 10.0, True),
        ({"operator": "between", "values": [1, 5]}, "5", True),
        ({"operator": "between", "values": [1, 5]}, 5.01, False),
        ({"operator": "is_known"}, 0, True),
        ({"operator": "is_unknown"}, False, False),
        ({"operator": "eq_any", "values": ["1000"]}, "1,000", False),
        ({"operator": "eq_any", "values": [1000]}, "1e3", True),
    ],
)
def test_operators_on_scalars_and_lists(fields, value, holds):
    assert condition(property="p", **fields).holds({"p": value}, frozenset(), TODAY) is holds


def test_list_membership_ignores_the_property():
    cond = condition(operator="in_list", value=42)
    assert cond.holds({}, frozenset({"42"}), TODAY) is True
    assert (
        condition(operator="not_in_list", value="42").holds({}, frozenset({"42"}), TODAY) is False
    )


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        ("2026-03-01T23:30:00-02:00", date(2026, 3, 2)),
        ("2026-03-01T23:30:00", date(2026, 3, 1)),
        (0, date(1970, 1, 1)),
        ("86400000", date(1970, 1, 2)),
        (-1, date(1969, 12, 31)),
        ("yesterday", None),
        (1.5e12, None),
        (True, None),
    ],
)
def test_date_values_are_epoch_milliseconds_or_iso_in_utc(value, day):
    assert as_day(value) == day


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-03-01T10:00:00Z", True),
        ("2026-03-01T10:00:00+02:00", True),
        (1767225600000, True),
        ("1767225600000", True),
        ("2026-03-01T10:00:00", False),
        ("2026-03-01", False),
        ("soon", False),
    ],
)
def test_event_instants_need_a_zone_or_epoch_milliseconds(value, ok):
    assert (parse_instant(value) is not None) is ok


def test_date_condition_boundary_days():
    within = condition(property="d", operator="within_last", value=10)
    more = condition(property="d", operator="more_than_ago", value=10)
    props = {"d": "2026-06-10"}  # 5 days before TODAY (2026-06-15)
    assert list(within.boundary_days(props, TODAY)) == [date(2026, 6, 20)]
    assert list(more.boundary_days(props, TODAY)) == [date(2026, 6, 21)]
    future = {"d": "2026-06-20"}
    assert list(within.boundary_days(future, TODAY)) == [date(2026, 6, 20), date(2026, 6, 30)]
