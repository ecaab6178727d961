"""The events rules count: read while the records are (`start_event_rows`), their conditions
decided on the event, joined to the scored records they count for (their own, or a company's
contacts') and folded per event type."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from healthscore.domain.batch_conditions import (
    _admits,
    _condition_properties,
    _dated,
    _flips,
    _static,
    _Values,
)
from healthscore.domain.batch_folds import _all_of, _Counted, _earliest, _fold
from healthscore.domain.batch_frames import (
    EVENT_PREFIX,
    ID,
    NO_DAY,
    SCORED,
    Frames,
    Pending,
    day_number,
    first_of_each_kept_query,
    join_on_ids,
    property_column,
)
from healthscore.domain.definition import DEFAULT_ASSOCIATION, Group, Rule, ScoreDefinition


def _contact_links(
    event_rules: list[tuple[int, Group, Rule]],
    contacts: pl.LazyFrame,
    record_values: _Values,
    all_labels: list[str],
    today: date,
    engine: Any,
) -> pl.DataFrame:
    """Each (company, contact) link with what event rules ask of it: a contact's association
    filters and labels are decided once per link, so event rows carry a few Boolean and day
    columns rather than the contact (`ok<i>`: it may count; `dated<i>` and `flip<i>` for date
    filters, only where the rule has some)."""
    link_columns = []
    for index, _group, rule in event_rules:
        association = rule.association or DEFAULT_ASSOCIATION
        if association.labels or association.filters:
            link_columns.append(
                (
                    _admits(association, all_labels)
                    & _static(association.filters, record_values, today)
                ).alias(f"ok{index}")
            )
        if any(c.is_date_relative for c in association.filters):
            link_columns += [
                _dated(association.filters, record_values, today).alias(f"dated{index}"),
                _flips(association.filters, record_values, today).alias(f"flip{index}"),
            ]
    return contacts.select(SCORED, "b_id", *link_columns).collect(engine=engine)


def _event_rules(keyed: list[tuple[int, int, Group, Rule]]) -> list[tuple[int, Group, Rule]]:
    return [(i, g, r) for i, (_, _, g, r) in enumerate(keyed) if r.event_type is not None]


def _event_types(event_rules: list[tuple[int, Group, Rule]]) -> list[str]:
    return sorted({rule.event_type for _i, _g, rule in event_rules if rule.event_type})


def _event_properties(event_rules: list[tuple[int, Group, Rule]]) -> set[str]:
    names: set[str] = set()
    for _i, _g, rule in event_rules:
        names |= _condition_properties(rule.conditions)
    return names


def start_event_rows(
    definition: ScoreDefinition,
    keyed: list[tuple[int, int, Group, Rule]],
    frames: Frames,
    engine: Any,
) -> Pending | None:
    """Start reading the events rules can count (None: no event rules), on Polars' threads
    while the records and associated records are scored: the first line of each event, of the
    types rules count, on the score's records or (for companies) on contacts; the type becomes
    its position in the sorted types (`type`), the object type a flag (`own`), and the
    properties conditions read are renamed `e.<name>`, so they never meet a contact's
    `p.<name>`."""
    event_rules = _event_rules(keyed)
    if not event_rules:
        return None
    events = frames.events
    types = _event_types(event_rules)
    columns = set(events.collect_schema().names())
    wanted = [n for n in sorted(_event_properties(event_rules)) if property_column(n) in columns]
    needed = events.select(
        ID, "type", "day", "object_type", "object_id", *(property_column(n) for n in wanted)
    )
    object_types = [definition.object_type, *(["contacts"] if _links_contacts(definition) else [])]
    query = first_of_each_kept_query(
        needed,
        ["object_type", "object_id", ID],
        ID,
        pl.col("type").is_in(types) & pl.col("object_type").is_in(object_types),
        [
            pl.col("type").replace_strict(types, list(range(len(types))), return_dtype=pl.UInt8),
            pl.col("day").cast(pl.Int64),
            (pl.col("object_type") == definition.object_type).alias("own"),
            pl.col("object_id"),
            *(pl.col(property_column(n)).alias(EVENT_PREFIX + n) for n in wanted),
        ],
        engine,
        distinct="events" in frames.distinct_ids,
    )
    return Pending(query, engine)


def _links_contacts(definition: ScoreDefinition) -> bool:
    """Whether contacts' events count for the score's records (companies: their contacts')."""
    return definition.object_type == "companies"


def _event_candidates(
    definition: ScoreDefinition,
    event_rules: list[tuple[int, Group, Rule]],
    base: pl.LazyFrame,
    scope_index: pl.LazyFrame,
    links: pl.DataFrame | None,
    record_values: _Values,
    encoded: bool,
    today: date,
    engine: Any,
) -> list[tuple[pl.LazyFrame, str]]:
    today_n = day_number(today)
    types = _event_types(event_rules)
    event_properties = _event_properties(event_rules)
    linking = links is not None
    # Property values are gathered from the events of the types whose rules read them: each
    # rule's verdicts are read on its own type's rows only (see `_fold` below).
    reading = [types.index(r.event_type or "") for _i, _g, r in event_rules if r.conditions]
    event_values = _Values(
        base.filter(pl.col("type").is_in(sorted(set(reading)))),
        event_properties,
        encoded,
        engine,
        prefix=EVENT_PREFIX,
    )
    # What each rule asks of an event's own properties is decided before events meet records:
    # the rows carry a Boolean (and a day, for date conditions) per rule, not the properties.
    decided: list[pl.Expr] = []
    for index, _group, rule in event_rules:
        if rule.conditions:
            decided.append(_static(rule.conditions, event_values, today).alias(f"es{index}"))
        if any(c.is_date_relative for c in rule.conditions):
            decided += [
                _dated(rule.conditions, event_values, today).alias(f"ed{index}"),
                _flips(rule.conditions, event_values, today).alias(f"ef{index}"),
            ]
        if rule.scored_individually_by is not None:
            decided.append(event_values.base_points(rule).alias(f"ep{index}"))
    base = base.select("type", "day", "own", "object_id", *decided).collect(engine=engine).lazy()
    own_events = join_on_ids(base.filter(pl.col("own")), scope_index, "object_id", ID)
    own = own_events.select(pl.col(SCORED), pl.exclude(SCORED, "object_id"))
    sources = [own]
    if links is not None:
        theirs = join_on_ids(base.filter(~pl.col("own")), links.lazy(), "object_id", "b_id")
        sources.append(theirs.select(pl.col(SCORED), pl.exclude(SCORED, "object_id", "b_id")))
    # Each event type's rows are folded with only its own rules: every row meets the few
    # expressions of the rules that can count it, not every rule's.
    rows = pl.concat(sources, how="diagonal_relaxed").collect(engine=engine)

    counted: dict[int, list[_Counted]] = {}
    day, is_own = pl.col("day"), pl.col("own")
    age = pl.lit(today_n) - day
    for index, group, rule in event_rules:
        association = rule.association or DEFAULT_ASSOCIATION
        linked = bool(association.labels or association.filters) and linking
        dated_filters = linked and any(c.is_date_relative for c in association.filters)
        dated_conditions = any(c.is_date_relative for c in rule.conditions)
        selected = _all_of(
            pl.col(f"es{index}") if rule.conditions else None,
            is_own | pl.col(f"ok{index}") if linked else None,
        )
        factor: pl.Expr | None = None
        step_day: pl.Expr | None = None
        if group.decay is not None:
            steps = age // group.decay.every.days
            factor = (pl.lit(100) - steps * group.decay.percent).clip(lower_bound=0)
            step_day = day + (steps + 1) * group.decay.every.days
        counts = _all_of(
            age >= 0,
            age < rule.timeframe.days if rule.timeframe else None,
            factor > 0 if factor is not None else None,
        )
        matched = _all_of(
            counts,
            pl.col(f"ed{index}") if dated_conditions else None,
            is_own | pl.col(f"dated{index}") if dated_filters else None,
        )
        later = _earliest(
            pl.col(f"ef{index}") if dated_conditions else None,
            pl.when(is_own).then(NO_DAY).otherwise(pl.col(f"flip{index}"))
            if dated_filters
            else None,
            day + rule.timeframe.days if rule.timeframe else None,
            step_day,
        )
        if later.meta.eq(NO_DAY):
            next_day = pl.when(age < 0).then(day).otherwise(NO_DAY)
        else:
            next_day = pl.when(age < 0).then(day).when(~counts).then(NO_DAY).otherwise(later)
        points = (
            pl.col(f"ep{index}")
            if rule.scored_individually_by is not None
            else pl.lit(rule.points or 0, dtype=pl.Int64)
        )
        counted.setdefault(types.index(rule.event_type or ""), []).append(
            _Counted(
                index,
                rule.aggregation,
                selected,
                matched,
                points * (factor if factor is not None else 100),
                next_day.cast(pl.Int64),
            )
        )
    return [
        (
            _fold(rows.lazy().filter(pl.col("type") == code), own_rules, today_n, f"next_e{code}"),
            f"next_e{code}",
        )
        for code, own_rules in sorted(counted.items())
    ]
