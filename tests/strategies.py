"""Hypothesis strategies: definitions using every feature of docs/definition-reference.md, and
small datasets.

The vocabularies are deliberately tiny (three event types, a few property names and values) so
generated rules actually match generated records and events.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from healthscore.domain.conditions import Condition, Operator
from healthscore.domain.dataset import (
    AssociationLine,
    Dataset,
    Event,
    PropertyChange,
    Record,
    Segment,
)
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.overrides import Override
from tests.builders import TODAY

EVENT_TYPES = ("email_opened", "meeting_booked", "custom:nps_sent")
KINDS = ("a", "b", "c")
LABELS = ("Decision maker", "Champion")
LISTS = ("l1", "l2")
UNITS = ("days", "weeks", "months")

points = st.integers(-20, 20).filter(bool)
scalar_kind = st.sampled_from([*KINDS, "A", " b", "3", 3])
number_value = st.one_of(st.integers(-5, 50), st.sampled_from(["7", " 12 ", "1e1", "x", "1,000"]))
date_value = st.one_of(
    st.integers(-60, 400).map(lambda d: (TODAY - timedelta(days=d)).isoformat()),
    st.integers(-60, 400).map(
        lambda d: int(
            (
                datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC) - timedelta(days=d)
            ).timestamp()
            * 1000
        )
    ),
    st.just("not a date"),
)


@st.composite
def condition(draw: st.DrawFn, *, allow_lists: bool, by_value: bool = False) -> dict[str, Any]:
    if by_value:
        values = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True))
        return {
            "property": "kind",
            "operator": draw(st.sampled_from(["eq_any", "contains_any"])),
            "values": values,
            "points_by_value": {v: draw(points) for v in values},
        }
    options = ["any", "number", "between", "known", "date"] + (["list"] if allow_lists else [])
    match draw(st.sampled_from(options)):
        case "any":
            return {
                "property": "kind",
                "operator": draw(
                    st.sampled_from(["eq_any", "neq_any", "contains_any", "not_contains_any"])
                ),
                "values": draw(st.lists(scalar_kind, min_size=1, max_size=3)),
            }
        case "number":
            return {
                "property": "n",
                "operator": draw(st.sampled_from(["gt", "gte", "lt", "lte"])),
                "value": draw(st.integers(0, 40)),
            }
        case "between":
            low = draw(st.integers(0, 30))
            return {
                "property": "n",
                "operator": "between",
                "values": [low, low + draw(st.integers(0, 20))],
            }
        case "known":
            return {
                "property": draw(st.sampled_from(["kind", "n", "seen"])),
                "operator": draw(st.sampled_from(["is_known", "is_unknown"])),
            }
        case "date":
            return {
                "property": "seen",
                "operator": draw(st.sampled_from(["within_last", "more_than_ago"])),
                "value": draw(st.integers(1, 90)),
            }
        case _:
            return {
                "operator": draw(st.sampled_from(["in_list", "not_in_list"])),
                "value": draw(st.sampled_from(LISTS)),
            }


@st.composite
def association(draw: st.DrawFn, *, labels_and_filters: bool, aggregation: bool) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if labels_and_filters:
        result["labels"] = draw(st.lists(st.sampled_from(LABELS), max_size=2, unique=True))
        result["filters"] = draw(st.lists(condition(allow_lists=True), max_size=1))
    if aggregation:
        result["aggregation"] = draw(st.sampled_from(["sum", "avg", "min", "max"]))
    return result


@st.composite
def event_rule(draw: st.DrawFn, *, decays: bool, object_type: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"event_type": draw(st.sampled_from(EVENT_TYPES))}
    frequency = not decays and draw(st.booleans())
    by_value = not frequency and draw(st.booleans())
    conditions = draw(st.lists(condition(allow_lists=False), max_size=2))
    if by_value:
        conditions.append(draw(condition(allow_lists=False, by_value=True)))
    else:
        rule["points"] = draw(points)
    rule["conditions"] = conditions
    if not decays and draw(st.booleans()):
        rule["timeframe"] = {"value": draw(st.integers(1, 6)), "unit": draw(st.sampled_from(UNITS))}
    if frequency:
        op = draw(st.sampled_from(["exactly", "between", "at_least", "at_most"]))
        low = draw(st.integers(1, 4))
        rule["frequency"] = {
            "exactly": {"op": op, "min": low},
            "between": {"op": op, "min": low, "max": low + draw(st.integers(0, 3))},
            "at_least": {"op": op, "min": low},
            "at_most": {"op": op, "max": low, "include_never": draw(st.booleans())},
        }[op]
    elif draw(st.booleans()):
        rule["limit"] = draw(st.integers(1, 30))
    if draw(st.booleans()):
        rule["association"] = draw(
            association(labels_and_filters=object_type == "companies", aggregation=not frequency)
        )
    return rule


@st.composite
def property_rule(draw: st.DrawFn, *, object_type: str) -> dict[str, Any]:
    others = ["tickets", "deals", "contacts" if object_type == "companies" else "companies"]
    target = draw(st.sampled_from(["self", *others]))
    rule: dict[str, Any] = {"object": target}
    conditions = draw(st.lists(condition(allow_lists=True), max_size=2))
    if draw(st.booleans()):
        conditions.append(draw(condition(allow_lists=True, by_value=True)))
    else:
        rule["points"] = draw(points)
    rule["conditions"] = conditions
    if draw(st.booleans()):
        rule["limit"] = draw(st.integers(1, 30))
    if target != "self" and draw(st.booleans()):
        rule["association"] = draw(association(labels_and_filters=True, aggregation=True))
    return rule


@st.composite
def definitions(draw: st.DrawFn, object_type: str | None = None) -> dict[str, Any]:
    object_type = object_type or draw(st.sampled_from(["companies", "contacts"]))
    groups = []
    for index in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["event", "property"]))
        group: dict[str, Any] = {
            "name": f"Group {index}",
            "kind": kind,
            "max_points": draw(st.integers(1, 100)),
        }
        if kind == "event":
            decays = draw(st.booleans())
            if decays:
                group["decay"] = {
                    "percent": draw(st.integers(1, 100)),
                    "every": {
                        "value": draw(st.integers(1, 3)),
                        "unit": draw(st.sampled_from(UNITS)),
                    },
                }
            group["rules"] = draw(
                st.lists(event_rule(decays=decays, object_type=object_type), min_size=1, max_size=3)
            )
        else:
            group["rules"] = draw(
                st.lists(property_rule(object_type=object_type), min_size=1, max_size=3)
            )
        groups.append(group)
    mins = sorted(draw(st.sets(st.integers(1, 100), max_size=3)))
    thresholds = [
        {"min": m, "label": f"S{i}", "color": "#12ab9F"} for i, m in enumerate([0, *mins])
    ]
    segments = draw(
        st.lists(
            st.sampled_from([f"seg-{object_type}", f"seg-{object_type}-picky"]),
            min_size=1,
            max_size=2,
            unique=True,
        )
    )
    freshness = [
        {"property": name, "max_age": {"value": draw(st.integers(1, 12)), "unit": unit}}
        for name, unit in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["kind", "n", "seen", "role", "sentiment"]),
                    st.sampled_from(["days", "days", "weeks"]),
                ),
                max_size=3,
                unique_by=lambda pair: pair[0],
            )
        )
    ]
    return {
        "name": "Generated",
        "object_type": object_type,
        "segments": segments,
        "groups": groups,
        "thresholds": thresholds,
        **({"freshness": freshness} if freshness else {}),
    }


@st.composite
def properties(draw: st.DrawFn) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if draw(st.booleans()):
        result["kind"] = draw(
            st.one_of(scalar_kind, st.lists(scalar_kind, max_size=2), st.sampled_from([None, ""]))
        )
    if draw(st.booleans()):
        result["n"] = draw(number_value)
    if draw(st.booleans()):
        result["seen"] = draw(date_value)
    if draw(st.booleans()):
        result["role"] = draw(scalar_kind)
    return result


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    """A few companies, contacts, tickets and deals, linked at random, with events over days."""

    def records(object_type: str, prefix: str, most: int) -> list[Record]:
        count = draw(st.integers(0 if object_type not in ("companies", "contacts") else 1, most))
        return [
            Record(
                object_type,
                f"{prefix}{i}",
                draw(properties()),
                frozenset(draw(st.lists(st.sampled_from(LISTS), max_size=2))),
            )
            for i in range(count)
        ]

    companies = records("companies", "c", 3)
    contacts = records("contacts", "p", 4)
    tickets = records("tickets", "t", 3)
    deals = records("deals", "d", 2)
    ghosts = [Record("contacts", "ghost")]  # has events and links but no record line
    lines = []
    for company in companies:
        for other in [*contacts, *ghosts, *tickets, *deals]:
            for _ in range(draw(st.integers(0, 2))):
                labels = tuple(draw(st.lists(st.sampled_from(LABELS), max_size=2)))
                one, two = (company, other) if draw(st.booleans()) else (other, company)
                lines.append(
                    AssociationLine(one.object_type, one.id, two.object_type, two.id, labels)
                )
    for contact in contacts:
        for other in tickets:
            if draw(st.booleans()):
                lines.append(AssociationLine("contacts", contact.id, "tickets", other.id, ()))
    owners = [*companies, *contacts, *ghosts]
    events = []
    for index in range(draw(st.integers(0, 25))):
        owner = draw(st.sampled_from(owners))
        age = draw(st.integers(-3, 200))
        moment = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC) - timedelta(
            days=age, minutes=draw(st.integers(-600, 600))
        )
        event_id = f"e{draw(st.integers(0, index))}"  # some repeated ids: duplicates
        events.append(
            Event(
                event_id,
                draw(st.sampled_from(EVENT_TYPES)),
                moment,
                owner.object_type,
                owner.id,
                draw(properties()),
            )
        )
    picky = (
        Condition(property="kind", operator=Operator.NEQ_ANY, values=["c"]),
        Condition(property="seen", operator=Operator.WITHIN_LAST, value=100),
    )
    segments = [
        Segment("seg-companies", "All companies", "companies"),
        Segment("seg-contacts", "All contacts", "contacts"),
        Segment("seg-companies-picky", "Picky", "companies", picky, ("l1",)),
        Segment("seg-contacts-picky", "Picky", "contacts", picky, ("l1", "l2")),
    ]
    # property histories: values set (or cleared) on days around the as-of instants drawn
    scored = [*companies, *contacts, *tickets, *deals]
    values = {"kind": scalar_kind, "n": number_value, "seen": date_value, "role": scalar_kind}
    changes = []
    for line in range(draw(st.integers(0, 12)) if scored and draw(st.booleans()) else 0):
        record = draw(st.sampled_from(scored))
        name = draw(st.sampled_from(sorted(values)))
        value = draw(st.one_of(st.none(), values[name]))
        changed = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC) + timedelta(
            days=draw(st.integers(-60, 130)), minutes=draw(st.sampled_from([0, 0, 1, 720]))
        )  # repeated instants: the later line wins
        changes.append(PropertyChange(record.object_type, record.id, name, value, changed, line))
    # overrides of the generated score (statuses S0–S3: a test maps them onto the score's own),
    # set, replaced and expiring around the as-of instants; some for another score
    overrides = []
    for line in range(draw(st.integers(0, 6))):
        record = draw(st.sampled_from([*companies, *contacts]))
        set_at = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC) + timedelta(
            days=draw(st.integers(-40, 110)), minutes=draw(st.sampled_from([0, 1, 600, 1439]))
        )
        overrides.append(
            Override(
                status=draw(st.sampled_from(["S0", "S1", "S2", "S3"])),
                reason="known better",
                set_by="csm@example.com",
                set_at=set_at,
                expires_at=set_at
                + timedelta(days=draw(st.integers(0, 90)), minutes=draw(st.integers(1, 900))),
                score=draw(st.one_of(st.none(), st.integers(0, 100))),
                object_type=record.object_type,
                id=record.id,
                definition=draw(st.sampled_from(["Generated", "Generated", "Another"])),
                line=line,
            )
        )
    return Dataset(scored, lines, events, segments, changes, overrides)


def with_statuses_of(definition: ScoreDefinition, data: Dataset) -> Dataset:
    """The generated overrides set S0–S3: those the score lacks become its last status."""
    labels = [t.label for t in definition.thresholds]
    data.overrides = tuple(
        o if o.status in labels else replace(o, status=labels[-1]) for o in data.overrides
    )
    return data
