"""Scoring from tallies: docs/scoring-semantics.md steps 3–7, the breakdown and the next change
day from a record's tally alone — the same as the reference engine's (tests/differential).

Scoring a tally visits every entry (a year of daily activity is about a thousand), so what it
scored on a day is kept with it (`DayTotals`): each event rule's sums, each property rule's
total, and the first later day an entry can change. More events that same day — a busy
company's usual case — move those in O(1) each (`add_events`), and the score is assembled from
them without visiting the entries again. A tally changed any other way (a contribution added or
taken out, its properties) has no totals, and is scored entry by entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from healthscore.domain.conditions import Condition, static_conditions_hold
from healthscore.domain.dataset import Record, Segment
from healthscore.domain.definition import DEFAULT_ASSOCIATION, Group, Rule, ScoreDefinition
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
from healthscore.domain.tallies import (
    ALWAYS,
    DateDays,
    DayTotals,
    EventEntry,
    EventSums,
    RecordEntry,
    RuleKey,
    RuleTotal,
    Tally,
    compact,
    date_conditions,
    keyed_rules,
)
from healthscore.domain.values import utc_day

NO_POINTS = RuleTotal(0, 0, 0)  # a property rule no record or property of this one meets


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
    totals: DayTotals | None = None  # what it was scored from: keep them with the tally


def score_from_tallies(
    definition: ScoreDefinition,
    tally: Tally,
    as_of: datetime | date,
    segments: Sequence[Segment] = (),
) -> TallyScore:
    """docs/scoring-semantics.md steps 3–7 (and the next change day) from a record's tally: from
    its totals when they hold for the day, else entry by entry."""
    today = utc_day(as_of) if isinstance(as_of, datetime) else as_of
    totals = tally.totals
    if totals is None or totals.day != today.toordinal():
        totals = day_totals(definition, tally, today)
    groups = []
    for g, group in enumerate(definition.groups):
        rules = tuple(
            _from_sums(rule, totals.events.get((g, r)))
            if rule.event_type is not None
            else totals.properties.get((g, r), NO_POINTS)
            for r, rule in enumerate(group.rules)
        )
        uncapped = sum(rule.hundredths for rule in rules)
        cap = group.max_points * HUNDREDTHS
        groups.append(GroupTotal(group.name, clamp(uncapped, -cap, cap), uncapped, rules))
    health = clamp(divide_half_up(sum(g.hundredths for g in groups), HUNDREDTHS), 0, 100)
    threshold = definition.status_for(health)
    changed = {name: date.fromordinal(day) for name, day in tally.changed.items()}
    freshness = definition.freshness
    own = Record(definition.object_type, "", tally.properties, tally.lists)
    later = [d for segment in segments for d in segment.boundary_days(own, today) if d > today]
    if totals.next_day is not None:
        later.append(date.fromordinal(totals.next_day))
    later += [d for d in stale_days(freshness, tally.properties, changed, today) if d is not None]
    return TallyScore(
        health,
        threshold.label,
        threshold.color,
        tuple(groups),
        min(later, default=None),
        stale_inputs(freshness, tally.properties, changed, today),
        totals,
    )


def day_totals(definition: ScoreDefinition, tally: Tally, today: date) -> DayTotals:
    """Score every entry of the tally as of `today` (compacted as of today)."""
    events: dict[RuleKey, EventSums] = {}
    properties: dict[RuleKey, RuleTotal] = {}
    for key, group, rule in keyed_rules(definition):
        if rule.event_type is not None:
            sums = _event_sums(group, rule, tally.events.get(key, Counter()), today)
            if sums != EventSums():
                events[key] = sums
        else:
            total = _property_rule_total(rule, tally, tally.records.get(key), today)
            if total != NO_POINTS:
                properties[key] = total
    days = [d for d in _rule_change_days(definition, tally, today) if d > today]
    first = min(days, default=None)
    next_day = None if first is None else first.toordinal()
    return DayTotals(today.toordinal(), events, properties, next_day)


def add_events(definition: ScoreDefinition, tally: Tally, new: Tally, today: date) -> None:
    """Add a record's new events' entries (`own_events`, `contact_events`) as of `today`. When
    the tally's totals hold for today they move with the new entries, one entry at a time,
    so the tally is scored without visiting its other entries."""
    compact(definition, new, today)
    totals = tally.totals
    if totals is not None and totals.day == today.toordinal():
        totals = _moved(definition, totals, new, today)
    else:
        totals = None
    tally.add(new)
    tally.totals = totals


def _moved(definition: ScoreDefinition, totals: DayTotals, new: Tally, today: date) -> DayTotals:
    events = dict(totals.events)
    next_day = totals.next_day
    for key, counts in new.events.items():
        group = definition.groups[key[0]]
        rule = group.rules[key[1]]
        added = _event_sums(group, rule, counts, today)
        events[key] = _plus(events.get(key, EventSums()), added)
        for day in _event_change_days(group, rule, counts, today):
            if day > today and (next_day is None or day.toordinal() < next_day):
                next_day = day.toordinal()
    return DayTotals(totals.day, events, totals.properties, next_day)


def _plus(one: EventSums, other: EventSums) -> EventSums:
    lows = [v for v in (one.low, other.low) if v is not None]
    highs = [v for v in (one.high, other.high) if v is not None]
    return EventSums(
        one.total + other.total,
        one.matched + other.matched,
        one.decayed + other.decayed,
        one.counted + other.counted,
        min(lows, default=None),
        max(highs, default=None),
    )


def _dates_hold(conditions: Sequence[Condition], days: DateDays, today: date) -> bool:
    return all(
        c.holds_on_days((date.fromordinal(d) for d in ds), today)
        for c, ds in zip(conditions, days, strict=True)
    )


def _event_sums(group: Group, rule: Rule, counts: Counter[EventEntry], today: date) -> EventSums:
    """The entries that count today, summed: events matched and decayed, and what the rule's
    aggregation reads of the positive counts (as `aggregate_counted` takes them) — weighted
    points and how many for `sum` and `avg`, the lowest for `min`, the highest for `max`."""
    association = rule.association or DEFAULT_ASSOCIATION
    how = None if rule.frequency is not None else rule.aggregation
    rule_dates = date_conditions(rule.conditions)
    filter_dates = date_conditions(association.filters)
    ordinal = today.toordinal()
    total = matched = decayed = counted = 0
    low: int | None = None
    high: int | None = None
    for (points, day, days, filters), count in counts.items():
        factor = event_percent(group, rule, ordinal - day if day != ALWAYS else 0)
        if factor == 0 or (rule_dates and not _dates_hold(rule_dates, days, today)):
            continue
        if filters is not None and filter_dates and not _dates_hold(filter_dates, filters, today):
            continue
        matched += count
        decayed += count if factor < 100 else 0
        if count > 0:
            weighted = points * factor
            counted += count
            if how in ("sum", "avg"):
                total += weighted * count
            elif how == "min":
                low = weighted if low is None or weighted < low else low
            elif how == "max":
                high = weighted if high is None or weighted > high else high
    return EventSums(total, matched, decayed, counted, low, high)


def _from_sums(rule: Rule, sums: EventSums | None) -> RuleTotal:
    sums = sums or EventSums()
    if rule.frequency is not None:
        met = rule.frequency.is_met(sums.matched)
        value = (rule.points or 0) * HUNDREDTHS if met else 0
        return RuleTotal(value, value, sums.matched, sums.decayed, met)
    match rule.aggregation:
        case "sum":
            value = sums.total
        case "avg":
            value = divide_half_up(sums.total, sums.counted) if sums.counted else 0
        case "min":
            value = sums.low or 0
        case "max":
            value = sums.high or 0
    return RuleTotal(apply_limit(value, rule.limit), value, sums.matched, sums.decayed)


def _property_rule_total(
    rule: Rule, tally: Tally, counts: Counter[RecordEntry] | None, today: date
) -> RuleTotal:
    if rule.target == "self":
        holds = all(c.holds(tally.properties, tally.lists, today) for c in rule.conditions)
        value = base_points(rule, tally.properties) * HUNDREDTHS if holds else 0
        return RuleTotal(apply_limit(value, rule.limit), value, int(holds))
    association = rule.association or DEFAULT_ASSOCIATION
    criteria = date_conditions([*association.filters, *rule.conditions])
    weighted = [
        (points * HUNDREDTHS, count)
        for (points, days), count in (counts or Counter()).items()
        if _dates_hold(criteria, days, today)
    ]
    value = aggregate_counted(weighted, association.aggregation)
    return RuleTotal(apply_limit(value, rule.limit), value, sum(c for _h, c in weighted))


def tally_next_change_day(
    definition: ScoreDefinition, tally: Tally, today: date, segments: Sequence[Segment] = ()
) -> date | None:
    """The same next change day as the reference engine, from the tally alone."""
    own = Record(definition.object_type, "", tally.properties, tally.lists)
    days = [d for segment in segments for d in segment.boundary_days(own, today)]
    days += _rule_change_days(definition, tally, today)
    return min((d for d in days if d > today), default=None)


def _flips(conditions: Sequence[Condition], days: DateDays, today: date) -> Iterator[date]:
    for condition, ordinals in zip(conditions, days, strict=True):
        yield from condition.flip_days((date.fromordinal(d) for d in ordinals), today)


def _rule_change_days(definition: ScoreDefinition, tally: Tally, today: date) -> Iterator[date]:
    for (g, r), group, rule in keyed_rules(definition):
        if rule.event_type is not None:
            yield from _event_change_days(group, rule, tally.events.get((g, r), Counter()), today)
        elif rule.target == "self":
            if static_conditions_hold(rule.conditions, tally.properties, tally.lists, today):
                for condition in rule.conditions:
                    yield from condition.boundary_days(tally.properties, today)
        else:
            association = rule.association or DEFAULT_ASSOCIATION
            criteria = date_conditions([*association.filters, *rule.conditions])
            for _points, days in tally.records.get((g, r), Counter()):
                yield from _flips(criteria, days, today)


def _event_change_days(
    group: Group, rule: Rule, counts: Counter[EventEntry], today: date
) -> Iterator[date]:
    association = rule.association or DEFAULT_ASSOCIATION
    rule_dates = date_conditions(rule.conditions)
    filter_dates = date_conditions(association.filters)
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
