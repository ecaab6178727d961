"""Small, explicit builders for hand-computed scoring cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from healthscore.domain.conditions import Condition
from healthscore.domain.dataset import AssociationLine, Dataset, Event, Record, Segment
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.reference_engine import (
    RecordScore,
    score,
)
from healthscore.domain.validation import parse_definition

AS_OF = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TODAY = AS_OF.date()
THRESHOLDS = [
    {"min": 0, "label": "At-risk", "color": "#d64545"},
    {"min": 40, "label": "Neutral", "color": "#e0a100"},
    {"min": 70, "label": "Healthy", "color": "#2e9d5b"},
]
ALL_COMPANIES = Segment("seg-companies", "All companies", "companies")
ALL_CONTACTS = Segment("seg-contacts", "All contacts", "contacts")


def definition(
    *groups: dict[str, Any],
    object_type: str = "companies",
    segments: list[str] | None = None,
    thresholds: list[dict[str, Any]] | None = None,
) -> ScoreDefinition:
    return parse_definition(
        {
            "name": "Test score",
            "object_type": object_type,
            "segments": segments
            or ["seg-companies" if object_type == "companies" else "seg-contacts"],
            "groups": list(groups),
            "thresholds": thresholds or THRESHOLDS,
        }
    )


TWO_STATUSES = [
    {"min": 0, "label": "At-risk", "color": "#d0021b"},
    {"min": 50, "label": "Healthy", "color": "#2e9d5b"},
]


def self_rule(prop: str, operator: str, value: Any, points: int) -> dict[str, Any]:
    """A self-property rule with one condition (`value` a list: an `eq_any`-style `values`)."""
    key = "values" if isinstance(value, list) else "value"
    return {
        "object": "self",
        "points": points,
        "conditions": [{"property": prop, "operator": operator, key: value}],
    }


def raw_property_score(
    name: str,
    segments: list[str],
    *rules: dict[str, Any],
    healthy: int = 50,
    max_points: int = 100,
    **extra: Any,
) -> dict[str, Any]:
    """A companies score of one property group, At-risk below `healthy`, as JSON."""
    return {
        "name": name,
        "object_type": "companies",
        "segments": segments,
        "groups": [property_group(*rules, max_points=max_points, name="Signals")],
        "thresholds": [TWO_STATUSES[0], {**TWO_STATUSES[1], "min": healthy}],
        **extra,
    }


def event_group(*rules: dict[str, Any], max_points: int = 100, **extra: Any) -> dict[str, Any]:
    return {
        "name": extra.pop("name", "Events"),
        "kind": "event",
        "max_points": max_points,
        "rules": list(rules),
        **extra,
    }


def property_group(*rules: dict[str, Any], max_points: int = 100, **extra: Any) -> dict[str, Any]:
    return {
        "name": extra.pop("name", "Properties"),
        "kind": "property",
        "max_points": max_points,
        "rules": list(rules),
        **extra,
    }


def company(record_id: str = "c1", lists: tuple[str, ...] = (), **properties: Any) -> Record:
    return Record("companies", record_id, properties, frozenset(lists))


def contact(record_id: str = "p1", lists: tuple[str, ...] = (), **properties: Any) -> Record:
    return Record("contacts", record_id, properties, frozenset(lists))


def record(object_type: str, record_id: str, **properties: Any) -> Record:
    return Record(object_type, record_id, properties)


def link(one: Record, other: Record, *labels: str) -> AssociationLine:
    return AssociationLine(one.object_type, one.id, other.object_type, other.id, labels)


_counter = iter(range(1, 10**9))


def event(
    event_type: str,
    days_ago: int,
    owner: Record | None = None,
    *,
    event_id: str | None = None,
    hour: int = 10,
    **properties: Any,
) -> Event:
    """An event `days_ago` UTC days before AS_OF's day (negative = in the future)."""
    owner = owner or company()
    day = TODAY - timedelta(days=days_ago)
    moment = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return Event(
        event_id or f"e{next(_counter)}",
        event_type,
        moment,
        owner.object_type,
        owner.id,
        properties,
    )


def dataset(
    *records: Record,
    associations: tuple[AssociationLine, ...] = (),
    events: tuple[Event, ...] = (),
    segments: tuple[Segment, ...] = (ALL_COMPANIES, ALL_CONTACTS),
) -> Dataset:
    return Dataset(records, associations, events, segments)


def only(results: list[RecordScore]) -> RecordScore:
    assert len(results) == 1, f"expected one scored record, got {[r.id for r in results]}"
    return results[0]


def score_one(defn: ScoreDefinition, data: Dataset, as_of: datetime = AS_OF) -> RecordScore:
    return only(score(defn, data, as_of))


def points(result: RecordScore, group: int = 0) -> float:
    """A group's total as a float (hundredths are exact, so this is too at 2 decimals)."""
    return result.groups[group].hundredths / 100


def rule_points(result: RecordScore, group: int = 0, rule: int = 0) -> float:
    return result.groups[group].rules[rule].hundredths / 100


def condition(**fields: Any) -> Condition:
    return Condition.model_validate(fields)


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def day(n: int) -> date:
    """The day `n` days after TODAY."""
    return TODAY + timedelta(days=n)
