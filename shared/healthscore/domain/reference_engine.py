"""The reference engine: docs/scoring-semantics.md, written to be read.

This module is the executable definition of the scoring semantics; faster engines are tested
against it. It favours plain loops that follow the specification's numbered steps over speed.

Amounts are kept as integers in hundredths of a point: points are integers and decay factors
whole percents, so every product is exact; `avg` and the final score round half away from zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from healthscore.domain.conditions import (
    all_hold,
    boundary_days,
    static_conditions_hold,
)
from healthscore.domain.dataset import Dataset, Event, Record, Segment
from healthscore.domain.definition import (
    DEFAULT_ASSOCIATION,
    Aggregation,
    DefinitionError,
    Group,
    Issue,
    Rule,
    ScoreDefinition,
)
from healthscore.domain.event_time import event_percent, event_time_changes, never_counts_again
from healthscore.domain.freshness import stale_days, stale_inputs
from healthscore.domain.overrides import Override, check_overrides, effective, in_effect
from healthscore.domain.overrides import next_day as override_next_day
from healthscore.domain.points import (
    HUNDREDTHS,
    aggregate,
    apply_limit,
    base_points,
    clamp,
    divide_half_up,
    to_points,
)
from healthscore.domain.values import utc_day


@dataclass(frozen=True, slots=True)
class EventMatch:
    """One event a rule counted, and what it was worth."""

    event_id: str
    event_type: str
    source: str  # "own", or the id of the associated contact whose event it is
    day: date
    age_days: int
    base_points: int
    decay_percent: int  # 100 = no decay
    hundredths: int


@dataclass(frozen=True, slots=True)
class RecordMatch:
    """One record (self or associated) a property rule counted."""

    object_type: str
    record_id: str
    hundredths: int
    matched_values: tuple[Any, ...] = ()  # scoring individually: the values it earned points for


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule_id: str | None
    description: str
    kind: str  # "event" or "property"
    hundredths: int  # after the limit
    uncapped_hundredths: int
    events: tuple[EventMatch, ...] = ()
    records: tuple[RecordMatch, ...] = ()
    aggregation: Aggregation = "sum"
    frequency_met: bool | None = None
    limit: int | None = None
    reads_self: bool = False  # a property rule on the record's own properties

    @property
    def points(self) -> Decimal:
        return to_points(self.hundredths)

    @property
    def matched(self) -> int:
        """How many events or records the rule counted."""
        return len(self.events) if self.kind == "event" else len(self.records)

    @property
    def limit_applied(self) -> bool:
        return self.hundredths != self.uncapped_hundredths

    @property
    def decayed_events(self) -> int:
        return sum(1 for e in self.events if e.decay_percent < 100)


@dataclass(frozen=True, slots=True)
class GroupResult:
    group_id: str | None
    name: str
    kind: str
    max_points: int
    hundredths: int  # after the group cap
    uncapped_hundredths: int
    rules: tuple[RuleResult, ...]

    @property
    def points(self) -> Decimal:
        return to_points(self.hundredths)

    @property
    def cap_applied(self) -> bool:
        return self.hundredths != self.uncapped_hundredths


@dataclass(frozen=True, slots=True)
class RecordScore:
    """A record's health score, status and the breakdown that explains it."""

    object_type: str
    id: str
    score: int
    status: str
    color: str
    groups: tuple[GroupResult, ...]
    next_change_day: date | None
    # the inputs stale that day (freshness rules), and an override in effect: `score`, `status`
    # and `color` are then the override's, the computed ones are kept beside them
    stale: tuple[str, ...] = ()
    override: Override | None = None
    computed_score: int | None = None
    computed_status: str | None = None


def check_against_dataset(definition: ScoreDefinition, dataset: Dataset) -> list[Issue]:
    """What can only be checked with the account's data: its segments exist and fit, and its
    overrides set statuses the score has."""
    return [
        *check_segments(definition, dataset.segments),
        *check_overrides(definition, dataset.overrides),
    ]


def check_segments(definition: ScoreDefinition, segments: Mapping[str, Segment]) -> list[Issue]:
    """The definition's segments exist among these and are of the score's object type."""
    issues = []
    for index, segment_id in enumerate(definition.segments):
        segment = segments.get(segment_id)
        if segment is None:
            known = ", ".join(sorted(segments)) or "none"
            issues.append(
                Issue(f"segments[{index}]", f"unknown segment {segment_id!r} (known: {known})")
            )
        elif segment.object_type != definition.object_type:
            issues.append(
                Issue(
                    f"segments[{index}]",
                    f"segment {segment_id!r} is a segment of {segment.object_type}, "
                    f"but this score is for {definition.object_type}",
                )
            )
    return issues


def score(definition: ScoreDefinition, dataset: Dataset, as_of: datetime) -> list[RecordScore]:
    """Score every in-scope record, ordered by id, with each property as it was on as-of's
    day (its history, if the dataset has one). Raises DefinitionError on unknown segments."""
    dataset = dataset.at(as_of)
    issues = check_against_dataset(definition, dataset)
    if issues:
        raise DefinitionError(issues)
    today = utc_day(as_of)
    segments = [dataset.segments[segment_id] for segment_id in definition.segments]
    return [
        with_inputs(
            definition, dataset, score_record(definition, dataset, record, today, segments), as_of
        )
        for record in dataset.records_of(definition.object_type)
        if in_scope(record, segments, today)
    ]


def with_inputs(
    definition: ScoreDefinition, dataset: Dataset, result: RecordScore, as_of: datetime
) -> RecordScore:
    """Step 8: the record's stale inputs, and the override in effect at `as_of` (of `dataset`
    resolved by `Dataset.at`); their start and end days join the next change day."""
    today = utc_day(as_of)
    key = (result.object_type, result.id)
    properties = dataset.record(key).properties
    changed = dataset.changed_days(key)
    stale = stale_inputs(definition.freshness, properties, changed, today)
    computed_next = min(
        (
            d
            for d in (
                result.next_change_day,
                *stale_days(definition.freshness, properties, changed, today),
            )
            if d is not None
        ),
        default=None,
    )
    overrides = dataset.overrides_of(key, definition.id, definition.name)
    shown = effective(
        definition, result.score, result.status, result.color, in_effect(overrides, as_of), as_of
    )
    return replace(
        result,
        score=shown.score,
        status=shown.status,
        color=shown.color,
        next_change_day=override_next_day(computed_next, overrides, as_of),
        stale=stale,
        override=shown.override,
        computed_score=result.score if shown.override else None,
        computed_status=result.status if shown.override else None,
    )


def in_scope(record: Record, segments: Sequence[Segment], today: date) -> bool:
    """Step 1: a record is scored iff it matches any of the definition's segments."""
    return any(segment.matches(record, today) for segment in segments)


def score_record(
    definition: ScoreDefinition,
    dataset: Dataset,
    record: Record,
    today: date,
    segments: Sequence[Segment],
) -> RecordScore:
    """Steps 2–7 for one record (scope is the caller's business; `segments` are the
    definition's, for the next change day)."""
    groups = tuple(
        _score_group(definition, group, dataset, record, today) for group in definition.groups
    )
    # Step 6: sum of group totals, rounded half away from zero, clamped to 0–100.
    total = divide_half_up(sum(group.hundredths for group in groups), HUNDREDTHS)
    health = clamp(total, 0, 100)
    threshold = definition.status_for(health)  # step 7
    return RecordScore(
        object_type=record.object_type,
        id=record.id,
        score=health,
        status=threshold.label,
        color=threshold.color,
        groups=groups,
        next_change_day=next_change_day(definition, dataset, record, today, segments),
    )


def _score_group(
    definition: ScoreDefinition, group: Group, dataset: Dataset, record: Record, today: date
) -> GroupResult:
    if group.kind == "event":
        rules = tuple(
            _score_event_rule(definition, group, rule, dataset, record, today)
            for rule in group.rules
        )
    else:
        rules = tuple(_score_property_rule(rule, dataset, record, today) for rule in group.rules)
    # Step 5: the group total is the sum of its rules, clamped to ±max_points.
    uncapped = sum(rule.hundredths for rule in rules)
    cap = group.max_points * HUNDREDTHS
    return GroupResult(
        group_id=group.id,
        name=group.name,
        kind=group.kind,
        max_points=group.max_points,
        hundredths=clamp(uncapped, -cap, cap),
        uncapped_hundredths=uncapped,
        rules=rules,
    )


def _score_event_rule(
    definition: ScoreDefinition,
    group: Group,
    rule: Rule,
    dataset: Dataset,
    record: Record,
    today: date,
) -> RuleResult:
    """Step 3: matching events, their (decayed) points, then frequency or aggregation + limit."""
    matches = []
    for event, source in event_sources(definition, rule, dataset, record, today):
        age = (today - event.day).days
        factor = event_percent(group, rule, age)
        if factor == 0 or not all_hold(rule.conditions, event.properties, frozenset(), today):
            continue
        base = base_points(rule, event.properties)
        matches.append(
            EventMatch(event.id, event.type, source, event.day, age, base, factor, base * factor)
        )
    matches.sort(key=lambda m: (m.day, m.event_id))

    if rule.frequency is not None:
        met = rule.frequency.is_met(len(matches))
        value = (rule.points or 0) * HUNDREDTHS if met else 0
        return RuleResult(
            rule.id, rule.describe(), "event", value, value, tuple(matches), frequency_met=met
        )
    value = aggregate([m.hundredths for m in matches], rule.aggregation)
    return RuleResult(
        rule.id,
        rule.describe(),
        "event",
        apply_limit(value, rule.limit),
        value,
        tuple(matches),
        aggregation=rule.aggregation,
        limit=rule.limit,
    )


def event_sources(
    definition: ScoreDefinition,
    rule: Rule,
    dataset: Dataset,
    record: Record,
    today: date,
    *,
    static_only: bool = False,
) -> Iterator[tuple[Event, str]]:
    """Step 2: the record's own events of the rule's type, and for a companies score those of
    its associated contacts that pass the rule's association labels and filters.

    With `static_only`, filters that depend on the day are not applied (for next change day).
    """
    assert rule.event_type is not None
    for event in dataset.events_of(record.key, rule.event_type):
        yield event, "own"
    if definition.object_type != "companies":
        return
    association = rule.association or DEFAULT_ASSOCIATION
    filter_holds = static_conditions_hold if static_only else all_hold
    for neighbour in dataset.neighbours(record.key, "contacts"):
        contact = neighbour.record
        if not association.admits(neighbour.labels):
            continue
        if not filter_holds(association.filters, contact.properties, contact.lists, today):
            continue
        for event in dataset.events_of(contact.key, rule.event_type):
            yield event, contact.id


def _score_property_rule(rule: Rule, dataset: Dataset, record: Record, today: date) -> RuleResult:
    """Step 4: the record's own properties, or each matching associated record, aggregated."""
    if rule.target == "self":
        holds = all_hold(rule.conditions, record.properties, record.lists, today)
        value = base_points(rule, record.properties) * HUNDREDTHS if holds else 0
        matches = (
            (RecordMatch(record.object_type, record.id, value, _matched(rule, record)),)
            if holds
            else ()
        )
        return RuleResult(
            rule.id,
            rule.describe(),
            "property",
            apply_limit(value, rule.limit),
            value,
            records=matches,
            limit=rule.limit,
            reads_self=True,
        )
    association = rule.association or DEFAULT_ASSOCIATION
    records = []
    for neighbour in dataset.neighbours(record.key, rule.target):
        other = neighbour.record
        if not association.admits(neighbour.labels):
            continue
        if not all_hold(association.filters, other.properties, other.lists, today):
            continue
        if not all_hold(rule.conditions, other.properties, other.lists, today):
            continue
        records.append(
            RecordMatch(
                other.object_type, other.id, base_points(rule, other.properties) * HUNDREDTHS
            )
        )
    value = aggregate([m.hundredths for m in records], association.aggregation)
    return RuleResult(
        rule.id,
        rule.describe(),
        "property",
        apply_limit(value, rule.limit),
        value,
        records=tuple(records),
        aggregation=association.aggregation,
        limit=rule.limit,
    )


def _matched(rule: Rule, record: Record) -> tuple[Any, ...]:
    condition = rule.scored_individually_by
    if condition is None:
        return ()
    values = condition.values or []
    return tuple(values[i] for i in condition.matched_values(record.properties))


def next_change_day(
    definition: ScoreDefinition,
    dataset: Dataset,
    record: Record,
    today: date,
    segments: Sequence[Segment],
) -> date | None:
    """The earliest future day on which an input of this record's score changes by itself.

    Those days are: an event entering (dated in the future) or leaving a timeframe, a decay
    step of an event that still counts, and a date condition (`within_last`/`more_than_ago`)
    flipping in a segment, a rule, or an association filter — counting only events and records
    whose conditions that do not depend on the day already hold. It may be a day on which the
    total happens not to move (a capped group); it is never later than a real change.
    """
    days = [
        day for day in _change_days(definition, dataset, record, today, segments) if day > today
    ]
    return min(days, default=None)


def _change_days(
    definition: ScoreDefinition,
    dataset: Dataset,
    record: Record,
    today: date,
    segments: Sequence[Segment],
) -> Iterator[date]:
    for segment in segments:
        yield from segment.boundary_days(record, today)
    for group, rule in definition.rules():
        if group.kind == "event":
            yield from _event_rule_change_days(definition, group, rule, dataset, record, today)
        elif rule.target == "self":
            if static_conditions_hold(rule.conditions, record.properties, record.lists, today):
                yield from boundary_days(rule.conditions, record.properties, today)
        else:
            yield from _associated_change_days(rule, dataset, record, today)


def _event_rule_change_days(
    definition: ScoreDefinition,
    group: Group,
    rule: Rule,
    dataset: Dataset,
    record: Record,
    today: date,
) -> Iterator[date]:
    """Per event that passes the criteria not depending on the day and can still count: the day
    it starts counting (future events), its timeframe exit, its next decay step, and the flips of
    the date conditions on it (and, for a contact's event, of the association filters on that
    contact). An event out of its timeframe or fully decayed never counts again: no days."""
    association = rule.association or DEFAULT_ASSOCIATION
    for event, source in event_sources(definition, rule, dataset, record, today, static_only=True):
        if not static_conditions_hold(rule.conditions, event.properties, frozenset(), today):
            continue
        age = (today - event.day).days
        if age < 0:
            yield event.day  # it starts to count that day
            continue
        if never_counts_again(group, rule, age):
            continue
        yield from boundary_days(rule.conditions, event.properties, today)
        if source != "own":
            contact = dataset.record(("contacts", source))
            yield from boundary_days(association.filters, contact.properties, today)
        yield from event_time_changes(group, rule, event.day, age)


def _associated_change_days(
    rule: Rule, dataset: Dataset, record: Record, today: date
) -> Iterable[date]:
    association = rule.association or DEFAULT_ASSOCIATION
    for neighbour in dataset.neighbours(record.key, rule.target):
        other = neighbour.record
        if not association.admits(neighbour.labels):
            continue
        criteria = [*association.filters, *rule.conditions]
        if static_conditions_hold(criteria, other.properties, other.lists, today):
            yield from boundary_days(criteria, other.properties, today)
