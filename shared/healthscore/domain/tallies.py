"""Tallies: the compact per-record state a health score is a pure function of
(docs/architecture.md).

A record's tally holds, per event rule, how many matching events it has by (base points, day);
per associated-property rule, how many matching associated records earn each number of points;
and the own properties its self-property rules and segments read. Everything that does not
depend on the as-of day (event type, static conditions, labels, static filters, points by
value) is settled when an event or record is tallied; what does (age, timeframe, decay,
`within_last` / `more_than_ago`) is kept as days and settled by `score_from_tallies`
(domain/tally_scores.py), so one tally scores any as-of day and gives the same result, breakdown
and next change day as the reference engine.

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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from healthscore.domain.conditions import Condition, static_conditions_hold
from healthscore.domain.dataset import Dataset, Event, Record, Segment
from healthscore.domain.definition import (
    DEFAULT_ASSOCIATION,
    Group,
    Rule,
    ScoreDefinition,
)
from healthscore.domain.event_time import never_counts_again
from healthscore.domain.points import (
    base_points,
)

RuleKey = tuple[int, int]  # (group index, rule index) in the definition
DateDays = tuple[tuple[int, ...], ...]  # per date-relative condition: the ordinals it reads
# An event entry: (base points, day ordinal, rule date-condition days, association-filter date
# days — None for the record's own events, which filters never apply to).
EventEntry = tuple[int, int, DateDays, DateDays | None]
# An associated-record entry: (points, date days of the association filters + rule conditions).
RecordEntry = tuple[int, DateDays]
ALWAYS = -1  # the day of a compacted entry whose day no longer matters (no timeframe or decay)


@dataclass(frozen=True, slots=True)
class EventSums:
    """An event rule's matching entries on one day, summed so one more event updates them:
    weighted points (hundredths), how many events (and how many decayed, and how many of the
    entries with a positive count: an average's divisor), the lowest and highest points."""

    total: int = 0
    matched: int = 0
    decayed: int = 0
    counted: int = 0
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True, slots=True)
class RuleTotal:
    hundredths: int
    uncapped_hundredths: int
    matched: int  # events or associated records counted
    decayed: int = 0  # events counted with a decay factor below 100 %
    frequency_met: bool | None = None


@dataclass(frozen=True)
class DayTotals:
    """What a tally scored on `day` (an ordinal; it was compacted as of that day): each event
    rule's sums, each property rule's total, and the first later day an entry or a property
    rule can change (segments and freshness aside). More events the same day move these in
    O(1) instead of rescoring every entry."""

    day: int
    events: dict[RuleKey, EventSums]
    properties: dict[RuleKey, RuleTotal]
    next_day: int | None


@dataclass
class Tally:
    """One record's tally for one definition (or one associated record's contribution to it)."""

    events: dict[RuleKey, Counter[EventEntry]] = field(default_factory=dict)
    records: dict[RuleKey, Counter[RecordEntry]] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    lists: frozenset[str] = frozenset()
    # the last change day (ordinal) of each input its freshness rules read, where known
    changed: dict[str, int] = field(default_factory=dict)
    # what it scored on its last day (domain/tally_scores.py): kept while nothing but that
    # day's events is added; anything else that changes the tally drops them
    totals: DayTotals | None = field(default=None, compare=False)

    def add(self, other: Tally) -> None:
        """Merge another tally's entries into this one (e.g. a contact's contribution)."""
        _merge(self.events, other.events, 1)
        _merge(self.records, other.records, 1)
        self.totals = None

    def subtract(self, other: Tally) -> None:
        """Take a contribution out again (an association removed, or its labels changed)."""
        _merge(self.events, other.events, -1)
        _merge(self.records, other.records, -1)
        self.totals = None

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


def date_conditions(conditions: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(c for c in conditions if c.is_date_relative)


def _date_days(conditions: Iterable[Condition], properties: Mapping[str, Any]) -> DateDays:
    return tuple(
        tuple(day.toordinal() for day in c.days_of(properties)) for c in date_conditions(conditions)
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
    for key, _group, rule in keyed_rules(definition):
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
    for key, _group, rule in keyed_rules(definition):
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


def keyed_rules(definition: ScoreDefinition) -> Iterator[tuple[RuleKey, Group, Rule]]:
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
    After compaction the tally scores `today` and any later day exactly as before. A tally
    whose totals hold for `today` was compacted as of today already."""
    if tally.totals is not None and tally.totals.day == today.toordinal():
        return
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
