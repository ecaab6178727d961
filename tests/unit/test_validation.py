"""Every validation rule of docs/definition-reference.md, each reported at the field to change."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from healthscore.domain.plans import (
    Plan,
    PlanLimitExceeded,
    check_plan_allows,
)
from healthscore.domain.validation import validate_definition

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
DESIGN_EXAMPLE = json.loads((EXAMPLES / "upmarket-health-score.json").read_text())


def paths_of(raw: Any) -> list[str]:
    parsed, issues = validate_definition(raw)
    assert parsed is None, "expected the definition to be refused"
    return [issue.path for issue in issues]


def message_at(raw: Any, path: str) -> str:
    parsed, issues = validate_definition(raw)
    assert parsed is None, "expected the definition to be refused"
    found = [i.message for i in issues if i.path == path]
    assert found, f"no issue at {path}; got {[(i.path, i.message) for i in issues]}"
    return found[0]


def mutate(change) -> dict[str, Any]:
    raw = copy.deepcopy(DESIGN_EXAMPLE)
    change(raw)
    return raw


def test_the_design_example_is_valid_and_gets_ids():
    parsed, issues = validate_definition(DESIGN_EXAMPLE)
    assert issues == []
    assert parsed is not None
    assert parsed.id
    assert all(g.id for g in parsed.groups)
    assert all(r.id for _, r in parsed.rules())


def test_existing_ids_are_kept():
    raw = mutate(
        lambda d: (
            d.update(id="def-1")
            or d["groups"][0].update(id="g-1")
            or d["groups"][0]["rules"][0].update(id="r-1")
        )
    )
    parsed, _ = validate_definition(raw)
    assert parsed is not None
    assert (parsed.id, parsed.groups[0].id, parsed.groups[0].rules[0].id) == ("def-1", "g-1", "r-1")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_documented_example_is_valid(path):
    parsed, issues = validate_definition(json.loads(path.read_text()))
    assert issues == []
    assert parsed is not None


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ([], ""),
        ("text", ""),
        (None, ""),
        ({}, "name"),
    ],
)
def test_non_objects_and_empty_objects_are_refused(raw, path):
    assert path in paths_of(raw)


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda d: d.update(name=""), "name", "empty"),
        (lambda d: d.update(name="x" * 101), "name", "100"),
        (lambda d: d.update(object_type="deals"), "object_type", "companies"),
        (lambda d: d.update(segments=[]), "segments", "1 to 5"),
        (lambda d: d.update(segments=["a", "b", "c", "d", "e", "f"]), "segments", "1 to 5"),
        (lambda d: d.update(segments=["a", "a"]), "segments[1]", "repeats"),
        (lambda d: d.update(groups=[]), "groups", "1 to 20"),
        (lambda d: d.update(groups=d["groups"] * 7), "groups", "1 to 20"),
        (lambda d: d["groups"][1].update(name="1:1 engagement"), "groups[1].name", "unique"),
        (lambda d: d["groups"][0].update(max_points=0), "groups[0].max_points", "1 to 100"),
        (lambda d: d["groups"][0].update(max_points=101), "groups[0].max_points", "1 to 100"),
        (lambda d: d["groups"][0].update(max_points=10.5), "groups[0].max_points", "integer"),
        (lambda d: d["groups"][0].update(rules=[]), "groups[0].rules", "1 to 50"),
        (
            lambda d: d["groups"][0].update(rules=d["groups"][0]["rules"] * 26),
            "groups[0].rules",
            "1 to 50",
        ),
        (lambda d: d["groups"][0].update(kind="mixed"), "groups[0].kind", "event"),
        (
            lambda d: d["groups"][1]["rules"][0].update(points=0),
            "groups[1].rules[0].points",
            "zero",
        ),
        (
            lambda d: d["groups"][1]["rules"][0].update(points=101),
            "groups[1].rules[0].points",
            "-100 and 100",
        ),
        (
            lambda d: d["groups"][1]["rules"][0].update(points=2.5),
            "groups[1].rules[0].points",
            "integer",
        ),
        (
            lambda d: d["groups"][1]["rules"][0].update(points=True),
            "groups[1].rules[0].points",
            "integer",
        ),
        (
            lambda d: d["groups"][1]["rules"][0].pop("points"),
            "groups[1].rules[0].points",
            "required",
        ),
        (
            lambda d: d["groups"][2]["rules"][0].update(event_type="email_opened"),
            "groups[2].rules[0].event_type",
            "event rules",
        ),
        (
            lambda d: d["groups"][0]["rules"][0].update(object="self"),
            "groups[0].rules[0].object",
            "property rules",
        ),
        (
            lambda d: d["groups"][0]["rules"][0].pop("event_type"),
            "groups[0].rules[0].event_type",
            "required",
        ),
        (
            lambda d: d["groups"][0]["rules"][0].update(event_type="meeting_bookd"),
            "groups[0].rules[0].event_type",
            "catalog",
        ),
        (
            lambda d: d["groups"][2].update(
                decay={"percent": 10, "every": {"value": 1, "unit": "days"}}
            ),
            "groups[2].decay",
            "event groups",
        ),
        (
            lambda d: d["groups"][0]["decay"].update(percent=0),
            "groups[0].decay.percent",
            "1 to 100",
        ),
        (
            lambda d: d["groups"][0]["decay"].update(percent=101),
            "groups[0].decay.percent",
            "1 to 100",
        ),
        (
            lambda d: d["groups"][0]["decay"]["every"].update(value=0),
            "groups[0].decay.every.value",
            "at least 1",
        ),
        (
            lambda d: d["groups"][0]["decay"]["every"].update(unit="years"),
            "groups[0].decay.every.unit",
            "months",
        ),
        (
            lambda d: d["groups"][0]["rules"][1].update(timeframe={"value": 7, "unit": "days"}),
            "groups[0].rules[1].timeframe",
            "decays",
        ),
        (
            lambda d: d["groups"][0]["rules"][1].update(frequency={"op": "at_least", "min": 1}),
            "groups[0].rules[1].frequency",
            "decays",
        ),
        (
            lambda d: d["groups"][1]["rules"][0]["timeframe"].update(value=0),
            "groups[1].rules[0].timeframe.value",
            "at least 1",
        ),
        (
            lambda d: d["groups"][1]["rules"][0]["timeframe"].update(unit="hours"),
            "groups[1].rules[0].timeframe.unit",
            "days",
        ),
        (
            lambda d: d["groups"][2]["rules"][0].update(timeframe={"value": 1, "unit": "days"}),
            "groups[2].rules[0].timeframe",
            "event rules",
        ),
        (
            lambda d: d["groups"][2]["rules"][0].update(frequency={"op": "at_least", "min": 1}),
            "groups[2].rules[0].frequency",
            "event rules",
        ),
        (
            lambda d: d["groups"][2]["rules"][1].update(object="companies"),
            "groups[2].rules[1].object",
            "self",
        ),
        (
            lambda d: d["groups"][2]["rules"][1].update(object="widgets"),
            "groups[2].rules[1].object",
            "custom",
        ),
        (
            lambda d: d["groups"][2]["rules"][0].update(association={"labels": ["x"]}),
            "groups[2].rules[0].association",
            "self",
        ),
        (
            lambda d: d["groups"][1]["rules"][0]["frequency"].update(op="sometimes"),
            "groups[1].rules[0].frequency.op",
            "exactly",
        ),
        (
            lambda d: d["groups"][1]["rules"][0]["frequency"].update(min=4, max=3),
            "groups[1].rules[0].frequency.max",
            "at least min",
        ),
        (
            lambda d: d["groups"][1]["rules"][0]["frequency"].update(min=0),
            "groups[1].rules[0].frequency.min",
            "at least 1",
        ),
        (
            lambda d: d["groups"][1]["rules"][0]["frequency"].pop("max"),
            "groups[1].rules[0].frequency.max",
            "required",
        ),
        (
            lambda d: d["groups"][1]["rules"][1]["frequency"].update(max=9),
            "groups[1].rules[1].frequency.max",
            "not used",
        ),
        (
            lambda d: d["groups"][1]["rules"][1]["frequency"].update(include_never=True),
            "groups[1].rules[1].frequency.include_never",
            "at_most",
        ),
        (
            lambda d: d["groups"][1]["rules"][1]["frequency"].update(
                op="at_most", max=2, include_never="yes"
            ),
            "groups[1].rules[1].frequency.include_never",
            "true or false",
        ),
        (
            lambda d: d["groups"][1]["rules"][1].update(limit=3),
            "groups[1].rules[1].limit",
            "frequency",
        ),
        (
            lambda d: d["groups"][1]["rules"][1].update(association={"aggregation": "max"}),
            "groups[1].rules[1].association.aggregation",
            "sum",
        ),
        (
            lambda d: d["groups"][0]["rules"][0].update(limit=0),
            "groups[0].rules[0].limit",
            "at least 1",
        ),
        (
            lambda d: d["groups"][0]["rules"][0]["association"].update(aggregation="median"),
            "groups[0].rules[0].association.aggregation",
            "avg",
        ),
        (
            lambda d: d["groups"][0]["rules"][0]["association"].update(labels=[""]),
            "groups[0].rules[0].association.labels[0]",
            "empty",
        ),
        (
            lambda d: d["groups"][0]["rules"][0]["association"].update(
                filters=[{"property": "x", "operator": "gt", "value": "a"}]
            ),
            "groups[0].rules[0].association.filters[0].value",
            "number",
        ),
        (lambda d: d.update(thresholds=[]), "thresholds", "1 to 10"),
        (
            lambda d: d.update(
                thresholds=[{"min": i * 5, "label": str(i), "color": "#000000"} for i in range(11)]
            ),
            "thresholds",
            "1 to 10",
        ),
        (lambda d: d["thresholds"][0].update(min=5), "thresholds[0].min", "start at 0"),
        (lambda d: d["thresholds"][2].update(min=40), "thresholds[2].min", "greater than"),
        (lambda d: d["thresholds"][2].update(min=101), "thresholds[2].min", "0 and 100"),
        (lambda d: d["thresholds"][2].update(label="at-RISK"), "thresholds[2].label", "repeats"),
        (lambda d: d["thresholds"][1].update(color="orange"), "thresholds[1].color", "#"),
        (lambda d: d["thresholds"][1].update(color="#e0a10"), "thresholds[1].color", "#"),
        (
            lambda d: d["properties"]["score"].update(name="Upmarket Score"),
            "properties.score.name",
            "snake_case",
        ),
        (
            lambda d: d["properties"]["status"].update(name="upmarket_health_score"),
            "properties.status.name",
            "differ",
        ),
        (lambda d: d.update(colour="red"), "colour", "not a known field"),
    ],
)
def test_each_rule_is_reported_at_its_path(change, path, words):
    assert words.lower() in message_at(mutate(change), path).lower()


def test_threshold_colours_accept_either_case():
    raw = mutate(lambda d: d["thresholds"][1].update(color="#E0A1FF"))
    assert validate_definition(raw)[1] == []


def test_properties_are_optional_and_derived_from_the_name():
    parsed, _ = validate_definition(mutate(lambda d: d.pop("properties")))
    assert parsed is not None
    derived = parsed.output_properties()
    assert (derived.score.name, derived.status.name) == (
        "upmarket_health_score",
        "upmarket_health_status",
    )


def test_event_types_may_be_custom_or_timeline():
    for event_type in ("custom:nps_survey_sent", "timeline:zoom:webinar_joined"):
        raw = mutate(lambda d, t=event_type: d["groups"][0]["rules"][0].update(event_type=t))
        assert validate_definition(raw)[1] == [], event_type
    for event_type in ("custom:", "timeline:zoom", "timeline::x"):
        raw = mutate(lambda d, t=event_type: d["groups"][0]["rules"][0].update(event_type=t))
        assert "groups[0].rules[0].event_type" in paths_of(raw), event_type


def test_property_rules_may_read_custom_objects():
    raw = mutate(lambda d: d["groups"][2]["rules"][1].update(object="custom:subscriptions"))
    assert validate_definition(raw)[1] == []


def test_contacts_score_event_rule_association_may_only_set_aggregation():
    def to_contacts(d):
        d["object_type"] = "contacts"
        d["groups"] = d["groups"][:2]

    raw = mutate(to_contacts)
    assert "groups[0].rules[0].association.labels" in paths_of(raw)
    raw["groups"][0]["rules"][0]["association"] = {"aggregation": "max"}
    assert validate_definition(raw)[1] == []
    raw["groups"][0]["rules"][0]["association"]["filters"] = [
        {"property": "x", "operator": "is_known"}
    ]
    assert "groups[0].rules[0].association.filters" in paths_of(raw)


# --- conditions ----------------------------------------------------------------------------------


def _with_condition(condition: dict[str, Any], group: int = 2) -> dict[str, Any]:
    def change(d):
        d["groups"][group]["rules"][0]["conditions"] = [condition]

    return mutate(change)


@pytest.mark.parametrize(
    ("condition", "field", "words"),
    [
        ({"property": "x", "operator": "like", "values": ["a"]}, "operator", "eq_any"),
        ({"property": "x", "operator": "eq_any"}, "values", "non-empty"),
        ({"property": "x", "operator": "eq_any", "values": []}, "values", "non-empty"),
        ({"property": "x", "operator": "eq_any", "value": "a"}, "value", "use values"),
        (
            {"property": "x", "operator": "eq_any", "values": [{"a": 1}]},
            "values[0]",
            "string, number",
        ),
        ({"property": "x", "operator": "contains_any", "values": [""]}, "values[0]", "empty"),
        ({"operator": "eq_any", "values": ["a"]}, "property", "required"),
        ({"property": "x", "operator": "gt", "value": "5"}, "value", "number"),
        ({"property": "x", "operator": "gt", "value": True}, "value", "number"),
        ({"property": "x", "operator": "between", "values": [1]}, "values", "two numbers"),
        ({"property": "x", "operator": "between", "values": [1, "2"]}, "values", "two numbers"),
        ({"property": "x", "operator": "between", "values": [5, 1]}, "values", "exceed"),
        ({"property": "x", "operator": "within_last", "value": 0}, "value", "from 1 to"),
        ({"property": "x", "operator": "more_than_ago", "value": 1.5}, "value", "from 1 to"),
        ({"property": "x", "operator": "is_known", "value": 3}, "value", "not used"),
        ({"operator": "in_list", "value": ""}, "value", "list id"),
        ({"operator": "in_list"}, "value", "list id"),
        (
            {"property": "x", "operator": "gt", "value": 1, "points_by_value": {"1": 3}},
            "points_by_value",
            "eq_any",
        ),
    ],
)
def test_condition_rules(condition, field, words):
    path = f"groups[2].rules[0].conditions[0].{field}"
    assert words.lower() in message_at(_with_condition(condition), path).lower()


def test_list_membership_needs_no_property_but_is_refused_on_events():
    assert validate_definition(_with_condition({"operator": "in_list", "value": "vip"}))[1] == []
    raw = _with_condition({"operator": "in_list", "value": "vip"}, group=0)
    assert "events are not in lists" in message_at(raw, "groups[0].rules[0].conditions[0].operator")


# --- scoring individually ------------------------------------------------------------------------


def _individually(condition_changes: dict[str, Any], rule_changes: dict[str, Any] | None = None):
    def change(d):
        rule = d["groups"][0]["rules"][1]
        rule["conditions"][0].update(condition_changes)
        rule.update(rule_changes or {})

    return mutate(change)


def test_points_by_value_lets_points_be_omitted_and_keys_name_values_by_equality():
    raw = _individually(
        {"values": [3, "Newsletter"], "points_by_value": {"3": 5, "newsletter": 1}},
        {"points": None},
    )
    raw["groups"][0]["rules"][1].pop("points")
    assert validate_definition(raw)[1] == []


@pytest.mark.parametrize(
    ("condition_changes", "rule_changes", "path", "words"),
    [
        ({"points_by_value": {"Contact us": 5}}, None, "values[1]", "no points"),
        (
            {"points_by_value": {"Contact us": 5, "Newsletter": 1, "Other": 2}},
            None,
            'points_by_value["Other"]',
            "not one of",
        ),
        (
            {"values": ["3", "3.0"], "points_by_value": {"3": 5}},
            None,
            'points_by_value["3"]',
            "several",
        ),
        ({"values": ["a", "A"], "points_by_value": {"a": 5, "A": 4}}, None, "values[0]", "several"),
        (
            {"points_by_value": {"Contact us": 0, "Newsletter": 1}},
            None,
            'points_by_value["Contact us"]',
            "zero",
        ),
        (
            {"points_by_value": {"Contact us": 500, "Newsletter": 1}},
            None,
            'points_by_value["Contact us"]',
            "-100",
        ),
        (
            {"points_by_value": {"Contact us": "5", "Newsletter": 1}},
            None,
            'points_by_value["Contact us"]',
            "integer",
        ),
    ],
)
def test_points_by_value_rules(condition_changes, rule_changes, path, words):
    full = f"groups[0].rules[1].conditions[0].{path}"
    assert words.lower() in message_at(_individually(condition_changes, rule_changes), full).lower()


def test_only_one_condition_may_score_individually_and_never_with_a_frequency():
    def two(d):
        rule = d["groups"][0]["rules"][1]
        rule["conditions"].append(copy.deepcopy(rule["conditions"][0]))

    assert "groups[0].rules[1].conditions[1].points_by_value" in paths_of(mutate(two))

    def with_frequency(d):
        rule = d["groups"][1]["rules"][0]
        rule["conditions"] = [
            {"property": "c", "operator": "eq_any", "values": ["a"], "points_by_value": {"a": 1}}
        ]

    assert "groups[1].rules[0].conditions[0].points_by_value" in paths_of(mutate(with_frequency))


# --- plan limits ---------------------------------------------------------------------------------


def test_plan_limits_professional_and_enterprise():
    check_plan_allows(Plan.PROFESSIONAL, live=0, drafts=4, adding="live")
    check_plan_allows(Plan.PROFESSIONAL, live=1, drafts=4, adding="draft")
    with pytest.raises(PlanLimitExceeded, match="1 live"):
        check_plan_allows(Plan.PROFESSIONAL, live=1, drafts=0, adding="live")
    with pytest.raises(PlanLimitExceeded, match="5 draft"):
        check_plan_allows(Plan.PROFESSIONAL, live=0, drafts=5, adding="draft")
    check_plan_allows(Plan.ENTERPRISE, live=9, drafts=19, adding="live")
    with pytest.raises(PlanLimitExceeded, match="10 live"):
        check_plan_allows(Plan.ENTERPRISE, live=10, drafts=0, adding="live")
    with pytest.raises(PlanLimitExceeded, match="20 draft"):
        check_plan_allows(Plan.ENTERPRISE, live=0, drafts=20, adding="draft")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda d: d["groups"][1]["rules"][0]["timeframe"].update(value=1300, unit="months"),
            "groups[1].rules[0].timeframe",
        ),
        (
            lambda d: d["groups"][0]["decay"]["every"].update(value=5300, unit="weeks"),
            "groups[0].decay.every",
        ),
    ],
)
def test_periods_longer_than_100_years_are_refused(change, path):
    # Given a timeframe or decay period past 36,500 days, When validated, Then refused there
    assert "at most 36500 days" in message_at(mutate(change), path)


def test_date_windows_longer_than_100_years_are_refused():
    raw = mutate(
        lambda d: d["groups"][2]["rules"][0]["conditions"].append(
            {"property": "renewal_date", "operator": "within_last", "value": 36_501}
        )
    )
    assert "from 1 to 36500" in message_at(raw, "groups[2].rules[0].conditions[2].value")


@pytest.mark.parametrize(
    ("freshness", "path", "words"),
    [
        (
            [{"property": "", "max_age": {"value": 30, "unit": "days"}}],
            "freshness[0].property",
            "name",
        ),
        (
            [{"property": "nps_score", "max_age": {"value": 0, "unit": "days"}}],
            "freshness[0].max_age.value",
            "at least 1",
        ),
        (
            [{"property": "nps_score", "max_age": {"value": 1300, "unit": "months"}}],
            "freshness[0].max_age",
            "at most 36500 days",
        ),
        (
            [{"property": "nps_score", "max_age": {"value": 30, "unit": "days"}}] * 2,
            "freshness[1].property",
            "repeats freshness[0]",
        ),
        (
            [{"property": f"p{i}", "max_age": {"value": 30, "unit": "days"}} for i in range(11)],
            "freshness",
            "at most 10",
        ),
        (
            [{"property": "nps_score", "max_age": {"value": 30, "unit": "years"}}],
            "freshness[0].max_age.unit",
            "",
        ),
    ],
)
def test_freshness_rules_are_checked_at_their_field(freshness, path, words):
    # Given a freshness rule broken one way, When validated, Then refused at its field
    assert words in message_at(mutate(lambda d: d.update(freshness=freshness)), path)
