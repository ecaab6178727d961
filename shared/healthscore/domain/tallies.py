"""Tallies: the compact per-record state a health score is a pure function of
(docs/architecture.md).

A record's tally holds, per event rule, how many matching events it has by (base points, day);
per associated-property rule, how many matching associated records earn each number of points;
and the own properties its self-property rules and segments read. Everything that does not
depend on the as-of day (event type, static conditions, labels, static filters, points by
value) is settled when an event or record is tallied; what does (age, timeframe, decay,
`within_last` / `more_than_ago`) is kept as days and settled by `score_from_tallies`, so one
tally scores any as-of day and gives the same result, breakdown and next change day as the
reference engine.

Tallies are mergeable: a company's tally is its own part plus one contribution per associated
record (`contribution`), so a contact's events or a label change move the company's tally by
adding or subtracting that contact's contribution, never by rereading its history.

Size bound: an entry is a distinct (points, day, date-condition days) key, so an event rule holds
at most `horizon days × distinct point values` entries once `compact` has dropped what can never
count again (horizon = the timeframe, the days until decay reaches 0, or — for rules with
neither — one entry per point value, since their day no longer matters once it has passed).
An associated-property rule holds at most one entry per distinct points value (and date-condition
days). A company with 365 days of daily activity on 13 rules stays under ~5,000 entries, ~60 KB
serialised: far below DynamoDB's 400 KB item limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from healthscore.domain.conditions import Condition, static_conditions_hold
from healthscore.domain.dataset import Dataset, Event, Record, Segment
from healthscore.domain.definition import (
    DEFAULT_ASSOCIATION,
    Group,
    Rule,
    ScoreDefinition,
)
from healthscore.domain.event_time import event_percent, event_time_changes, never_counts_again
from healthscore.domain.freshness import stale_days, stale_inputs
from healthscore.domain.points import (
    HUNDREDTHS,
    aggregate_counted,
    apply_limit,
    base_points,
    clamp,
    divide_half_up,
)
from healthscore.domain.values import utc_day

RuleKey = tuple[int, int]  # (group index, rule index) in the definition
DateDays = tuple[tuple[int, ...], ...]  # per date-relative condition: the ordinals it reads
# An event entry: (base points, day ordinal, rule date-condition days, association-filter date
# days — None for the record's own events, which filters never apply to).
EventEntry = tuple[int, int, DateDays, DateDays | None]
# An associated-record entry: (points, date days of the association filters + rule conditions).
RecordEntry = tuple[int, DateDays]
ALWAYS = -1  # the day of a compacted entry whose day no longer matters (no timeframe or decay)


@dataclass
class Tally:
    """One record's tally for one definition (or one associated record's contribution to it)."""

    events: dict[RuleKey, Counter[EventEntry]] = field(default_factory=dict)
    records: dict[RuleKey, Counter[RecordEntry]] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    lists: frozenset[str] = frozenset()
    # the last change day (ordinal) of each input its freshness rules read, where known
    changed: dict[str, int] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        """Merge another tally's entries into this one (e.g. a contact's contribution)."""
        _merge(self.events, other.events, 1)
        _merge(self.records, other.records, 1)

    def subtract(self, other: Tally) -> None:
        """Take a contribution out again (an association removed, or its labels changed)."""
        _merge(self.events, other.events, -1)
        _merge(self.records, other.records, -1)

    @property
    def size(self) -> int:
        """Number of entries: what the storage bound is about."""
        return sum(len(c) for c in self.events.values()) + sum(
            len(c) for c in self.records.values()
        )


def _merge(
    into: dict[RuleKey, Counter[Any]], other: Mapping[RuleKey, Counter[Any]], sign: int
) -> None:
    for key, counts in other.items():
        target = into.setdefault(key, Counter())
        for entry, count in counts.items():
            total = target[entry] + sign * count
            if total:
                target[entry] = total
            else:
                del target[entry]
        if not target:
            del into[key]


# ---------------------------------------------------------------------------------------------
# Building tallies


def _date_conditions(conditions: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(c for c in conditions if c.is_date_relative)


def _date_days(conditions: Iterable[Condition], properties: Mapping[str, Any]) -> DateDays:
    return tuple(
        tuple(day.toordinal() for day in c.days_of(properties))
        for c in _date_conditions(conditions)
    )


def referenced_properties(definition: ScoreDefinition, segments: Iterable[Segment]) -> set[str]:
    """The own properties a record's tally keeps: those its self rules and segments read."""
    names = {c.property for s in segments for c in s.conditions if c.property}
    for _group, rule in definition.rules():
        if rule.target == "self":
            names.update(c.property for c in rule.conditions if c.property)
    names.update(f.property for f in definition.freshness)
    return names


def freshness_days(definition: ScoreDefinition, changed: Mapping[str, date]) -> dict[str, int]:
    """What a tally keeps of a record's change days: those its freshness rules read."""
    wanted = {f.property for f in definition.freshness}
    return {name: day.toordinal() for name, day in changed.items() if name in wanted}


def own_tally(
    definition: ScoreDefinition,
    record: Record,
    events: Iterable[Event],
    segments: Iterable[Segment] = (),
) -> Tally:
    """The record's own part: its properties that matter, and its own events' entries."""
    names = referenced_properties(definition, segments)
    tally = Tally(
        properties={k: v for k, v in record.properties.items() if k in names},
        lists=record.lists,
    )
    tally.add(_event_entries(definition, events, None))
    return tally


def own_events(definition: ScoreDefinition, events: Iterable[Event]) -> Tally:
    """What a record's own new events add to its tally."""
    return _event_entries(definition, events, None)


def contact_events(
    definition: ScoreDefinition, contact: Record, labels: frozenset[str], events: Iterable[Event]
) -> Tally:
    """What a contact's new events add to an associated company's tally (companies scores)."""
    return _event_entries(definition, events, (contact, labels))


def contribution(
    definition: ScoreDefinition,
    other: Record,
    labels: frozenset[str],
    events: Iterable[Event] = (),
) -> Tally:
    """What one associated record adds to the tally of the record being scored: for a companies
    score, a contact's events (when the rule's labels and filters admit it); and, for property
    rules on its type, the points it earns."""
    tally = Tally()
    if definition.object_type == "companies" and other.object_type == "contacts":
        tally.add(_event_entries(definition, events, (other, labels)))
    for key, _group, rule in _keyed_rules(definition):
        if rule.event_type is not None or rule.target != other.object_type:
            continue
        association = rule.association or DEFAULT_ASSOCIATION
        criteria = [*association.filters, *rule.conditions]
        if not association.admits(labels):
            continue
        if not static_conditions_hold(criteria, other.properties, other.lists, date.min):
            continue
        points = base_points(rule, other.properties)
        entry = (points, _date_days(criteria, other.properties))
        tally.records.setdefault(key, Counter())[entry] += 1
    return tally


def _event_entries(
    definition: ScoreDefinition,
    events: Iterable[Event],
    contact: tuple[Record, frozenset[str]] | None,
) -> Tally:
    by_type: dict[str, list[Event]] = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event)
    tally = Tally()
    for key, _group, rule in _keyed_rules(definition):
        if rule.event_type is None or rule.event_type not in by_type:
            continue
        filter_days: DateDays | None = None
        if contact is not None:
            record, labels = contact
            association = rule.association or DEFAULT_ASSOCIATION
            if not association.admits(labels):
                continue
            if not static_conditions_hold(
                association.filters, record.properties, record.lists, date.min
            ):
                continue
            filter_days = _date_days(association.filters, record.properties)
        counts: Counter[EventEntry] = Counter()
        for event in by_type[rule.event_type]:
            if not static_conditions_hold(rule.conditions, event.properties, (), date.min):
                continue
            points = base_points(rule, event.properties)
            days = _date_days(rule.conditions, event.properties)
            counts[(points, event.day.toordinal(), days, filter_days)] += 1
        if counts:
            tally.events[key] = counts
    return tally


def _keyed_rules(definition: ScoreDefinition) -> Iterator[tuple[RuleKey, Group, Rule]]:
    for g, group in enumerate(definition.groups):
        for r, rule in enumerate(group.rules):
            yield (g, r), group, rule


def build_tally(
    definition: ScoreDefinition,
    dataset: Dataset,
    record: Record,
    segments: Iterable[Segment] = (),
) -> Tally:
    """A record's full tally from a dataset: its own part plus every neighbour's contribution."""
    event_types = {r.event_type for _g, r in definition.rules() if r.event_type}
    own_events = [e for t in event_types for e in dataset.events_of(record.key, t)]
    tally = own_tally(definition, record, own_events, segments)
    tally.changed = freshness_days(definition, dataset.changed_days(record.key))
    targets = {r.target for _g, r in definition.rules() if r.event_type is None}
    neighbour_types = set(targets) - {"self"}
    if definition.object_type == "companies" and event_types:
        neighbour_types.add("contacts")
    for object_type in sorted(neighbour_types):
        for neighbour in dataset.neighbours(record.key, object_type):
            other = neighbour.record
            events = (
                [event for t in event_types for event in dataset.events_of(other.key, t)]
                if object_type == "contacts"
                else []
            )
            tally.add(contribution(definition, other, neighbour.labels, events))
    return tally


def compact(definition: ScoreDefinition, tally: Tally, today: date) -> None:
    """Drop event entries that can never count again and fold the past of timeless rules.

    Time only moves forward on the incremental path: an event out of its timeframe, or whose
    decay has reached 0, stays out; a rule with neither only needs its past events' points.
    After compaction the tally scores `today` and any later day exactly as before."""
    for (g, r), counts in list(tally.events.items()):
        group = definition.groups[g]
        rule = group.rules[r]
        timeless = rule.timeframe is None and group.decay is None
        folded: Counter[EventEntry] = Counter()
        for (points, day, days, filters), count in counts.items():
            age = today.toordinal() - day if day != ALWAYS else 0
            if day != ALWAYS and age >= 0:
                if never_counts_again(group, rule, age):
                    continue
                if timeless and not days and not filters:
                    day = ALWAYS
            folded[(points, day, days, filters)] += count
        if folded:
            tally.events[(g, r)] = folded
        else:
            del tally.events[(g, r)]


# ---------------------------------------------------------------------------------------------
# Scoring from tallies


@dataclass(frozen=True, slots=True)
class RuleTotal:
    hundredths: int
    uncapped_hundredths: int
    matched: int  # events or associated records counted
    decayed: int = 0  # events counted with a decay factor below 100 %
    frequency_met: bool | None = None


@dataclass(frozen=True, slots=True)
class GroupTotal:
    name: str
    hundredths: int
    uncapped_hundredths: int
    rules: tuple[RuleTotal, ...]


@dataclass(frozen=True, slots=True)
class TallyScore:
    score: int
    status: str
    color: str
    groups: tuple[GroupTotal, ...]
    next_change_day: date | None
    stale: tuple[str, ...] = ()


def _dates_hold(conditions: Sequence[Condition], days: DateDays, today: date) -> bool:
    return all(
        c.holds_on_days((date.fromordinal(d) for d in ds), today)
        for c, ds in zip(conditions, days, strict=True)
    )


def score_from_tallies(
    definition: ScoreDefinition,
    tally: Tally,
    as_of: datetime | date,
    segments: Sequence[Segment] = (),
) -> TallyScore:
    """docs/scoring-semantics.md steps 3–7 (and the next change day) from a record's tally."""
    today = utc_day(as_of) if isinstance(as_of, datetime) else as_of
    groups = []
    for g, group in enumerate(definition.groups):
        rules = tuple(
            _event_rule_total(group, rule, tally.events.get((g, r), Counter()), today)
            if rule.event_type is not None
            else _property_rule_total(rule, tally, tally.records.get((g, r), Counter()), today)
            for r, rule in enumerate(group.rules)
        )
        uncapped = sum(rule.hundredths for rule in rules)
        cap = group.max_points * HUNDREDTHS
        groups.append(GroupTotal(group.name, clamp(uncapped, -cap, cap), uncapped, rules))
    health = clamp(divide_half_up(sum(g.hundredths for g in groups), HUNDREDTHS), 0, 100)
    threshold = definition.status_for(health)
    changed = {name: date.fromordinal(day) for name, day in tally.changed.items()}
    freshness = definition.freshness
    next_days = [
        d
        for d in (
            tally_next_change_day(definition, tally, today, segments),
            *stale_days(freshness, tally.properties, changed, today),
        )
        if d is not None
    ]
    return TallyScore(
        health,
        threshold.label,
        threshold.color,
        tuple(groups),
        min(next_days, default=None),
        stale_inputs(freshness, tally.properties, changed, today),
    )


def _event_rule_total(
    group: Group, rule: Rule, counts: Counter[EventEntry], today: date
) -> RuleTotal:
    association = rule.association or DEFAULT_ASSOCIATION
    rule_dates = _date_conditions(rule.conditions)
    filter_dates = _date_conditions(association.filters)
    weighted: list[tuple[int, int]] = []  # (hundredths, how many events)
    decayed = 0
    for (points, day, days, filters), count in counts.items():
        age = today.toordinal() - day if day != ALWAYS else 0
        factor = event_percent(group, rule, age)
        if factor == 0 or not _dates_hold(rule_dates, days, today):
            continue
        if filters is not None and not _dates_hold(filter_dates, filters, today):
            continue
        weighted.append((points * factor, count))
        decayed += count if factor < 100 else 0
    matched = sum(count for _h, count in weighted)
    if rule.frequency is not None:
        met = rule.frequency.is_met(matched)
        value = (rule.points or 0) * HUNDREDTHS if met else 0
        return RuleTotal(value, value, matched, decayed, met)
    value = aggregate_counted(weighted, rule.aggregation)
    return RuleTotal(apply_limit(value, rule.limit), value, matched, decayed)


def _property_rule_total(
    rule: Rule, tally: Tally, counts: Counter[RecordEntry], today: date
) -> RuleTotal:
    if rule.target == "self":
        holds = all(c.holds(tally.properties, tally.lists, today) for c in rule.conditions)
        value = base_points(rule, tally.properties) * HUNDREDTHS if holds else 0
        return RuleTotal(apply_limit(value, rule.limit), value, int(holds))
    association = rule.association or DEFAULT_ASSOCIATION
    criteria = _date_conditions([*association.filters, *rule.conditions])
    weighted = [
        (points * HUNDREDTHS, count)
        for (points, days), count in counts.items()
        if _dates_hold(criteria, days, today)
    ]
    value = aggregate_counted(weighted, association.aggregation)
    return RuleTotal(apply_limit(value, rule.limit), value, sum(c for _h, c in weighted))


def tally_next_change_day(
    definition: ScoreDefinition, tally: Tally, today: date, segments: Sequence[Segment] = ()
) -> date | None:
    """The same next change day as the reference engine, from the tally alone."""
    days = [d for d in _tally_change_days(definition, tally, today, segments) if d > today]
    return min(days, default=None)


def _flips(conditions: Sequence[Condition], days: DateDays, today: date) -> Iterator[date]:
    for condition, ordinals in zip(conditions, days, strict=True):
        yield from condition.flip_days((date.fromordinal(d) for d in ordinals), today)


def _tally_change_days(
    definition: ScoreDefinition, tally: Tally, today: date, segments: Sequence[Segment]
) -> Iterator[date]:
    own = Record(definition.object_type, "", tally.properties, tally.lists)
    for segment in segments:
        yield from segment.boundary_days(own, today)
    for (g, r), group, rule in _keyed_rules(definition):
        if rule.event_type is not None:
            yield from _event_change_days(group, rule, tally.events.get((g, r), Counter()), today)
        elif rule.target == "self":
            if static_conditions_hold(rule.conditions, tally.properties, tally.lists, today):
                for condition in rule.conditions:
                    yield from condition.boundary_days(tally.properties, today)
        else:
            association = rule.association or DEFAULT_ASSOCIATION
            criteria = _date_conditions([*association.filters, *rule.conditions])
            for _points, days in tally.records.get((g, r), Counter()):
                yield from _flips(criteria, days, today)


def _event_change_days(
    group: Group, rule: Rule, counts: Counter[EventEntry], today: date
) -> Iterator[date]:
    association = rule.association or DEFAULT_ASSOCIATION
    rule_dates = _date_conditions(rule.conditions)
    filter_dates = _date_conditions(association.filters)
    for _points, ordinal, days, filters in counts:
        if ordinal == ALWAYS:
            continue
        day = date.fromordinal(ordinal)
        age = (today - day).days
        if age < 0:
            yield day
            continue
        if never_counts_again(group, rule, age):
            continue
        yield from _flips(rule_dates, days, today)
        if filters is not None:
            yield from _flips(filter_dates, filters, today)
        yield from event_time_changes(group, rule, day, age)
