"""The rows each rule counts: associated pairs, the records a rule needs, and the matching
events and records per scored record with their points and the days they change."""

from __future__ import annotations

from dataclasses import dataclass
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
from healthscore.domain.batch_frames import (
    EVENT_PREFIX,
    ID,
    NO_DAY,
    PROPERTY_PREFIX,
    SCORED,
    Frames,
    Pending,
    day_number,
    first_of_each_kept_query,
    ids_hash_uniquely,
    join_on_ids,
    property_column,
    repeated_values,
)
from healthscore.domain.definition import (
    DEFAULT_ASSOCIATION,
    Group,
    Rule,
    ScoreDefinition,
)
from healthscore.domain.points import HUNDREDTHS

LABELS = pl.List(pl.String)


def _pairs(
    associations: pl.LazyFrame,
    object_type: str,
    neighbour_types: list[str],
    scope_index: pl.LazyFrame,
    engine: Any,
) -> pl.DataFrame:
    """Each scored record (SCORED) with its associated records of the types rules read
    (`b_type`, `b_id`), once per pair, with the union of the labels of every line linking
    them. One read of the associations: the lines of scored records, each with a 64-bit hash
    of its pair; only pairs whose hash repeats are compared and merged on the pair itself."""
    directions = [
        associations.filter(
            pl.col(one + "_type") == object_type, pl.col(other + "_type").is_in(neighbour_types)
        ).select(
            pl.col(one + "_id").alias("a_id"),
            pl.col(other + "_type").alias("b_type"),
            pl.col(other + "_id").alias("b_id"),
            pl.col("labels"),
        )
        for one, other in (("from", "to"), ("to", "from"))
    ]
    lines = pl.concat(directions).with_columns(
        pl.struct("a_id", "b_type", "b_id").hash().alias("_pair_hash")
    )
    joined = (
        join_on_ids(lines, scope_index, "a_id", ID)
        .select(SCORED, "b_type", "b_id", "labels", "_pair_hash")
        .collect(engine=engine)
    )
    repeated = repeated_values(joined.get_column("_pair_hash"))
    if repeated is None:
        return joined.drop("_pair_hash")
    numbered = joined.drop("_pair_hash").with_columns(repeated.alias("_repeated"))
    # Only pairs linked by several lines (and hash collisions) need their labels merged. A
    # scored record's SCORED stands for its id (one each).
    merged = (
        numbered.filter(pl.col("_repeated"))
        .group_by([SCORED, "b_type", "b_id"])
        .agg(pl.col("labels").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls())
        .with_columns(pl.col("labels").list.unique())
    )
    # A null label matches no association's labels, so single lines keep theirs as they are.
    single = numbered.filter(~pl.col("_repeated")).select(SCORED, "b_type", "b_id", "labels")
    return pl.concat([single, merged])


def _needed_records(
    definition: ScoreDefinition,
    records: pl.LazyFrame,
    names: set[str],
    engine: Any,
    *,
    distinct: bool = False,
) -> pl.LazyFrame:
    """The records rules and segments read (the last line of each), with only the columns they
    read: the score's type, the types of associated-record rules, and contacts when event
    rules filter on their properties."""
    types = _record_types(definition)
    available = set(records.collect_schema().names())
    columns = [property_column(n) for n in sorted(names) if property_column(n) in available]
    kept = pl.col("object_type").is_in(sorted(types))
    selected = [pl.col(c) for c in ("object_type", ID, "lists", *columns)]
    return (
        first_of_each_kept_query(
            records, ["object_type", ID], ID, kept, selected, engine, last=True, distinct=distinct
        )
        .collect(engine=engine)
        .lazy()
    )


def _record_types(definition: ScoreDefinition) -> set[str]:
    """The object types whose records rules and segments read."""
    types: set[str] = {definition.object_type}
    for _group, rule in definition.rules():
        association = rule.association or DEFAULT_ASSOCIATION
        if rule.event_type is None and rule.target != "self":
            types.add(rule.target)
        elif rule.event_type is not None and association.filters:
            types.add("contacts")
    return types


@dataclass(frozen=True)
class _Counted:
    """What one rule counts on each candidate row: whether the row is the rule's at all
    (`selected`), whether it counts today (`matched`), its points in hundredths and the next day
    that may change (null: none)."""

    index: int
    aggregation: str
    selected: pl.Expr
    matched: pl.Expr
    hundredths: pl.Expr
    next_day: pl.Expr


TRUE = pl.lit(True)


def _all_of(*tests: pl.Expr | None) -> pl.Expr:
    """The tests AND-ed, leaving out those that are none or always true (every row evaluates
    what is left, so a literal `True` is worth dropping)."""
    kept = [t for t in tests if t is not None and not t.meta.eq(TRUE)]
    if not kept:
        return TRUE
    combined = kept[0]
    for test in kept[1:]:
        combined = combined & test
    return combined


def _earliest(*days: pl.Expr | None) -> pl.Expr:
    """The earliest of the days, leaving out those that are none or always null."""
    kept = [d for d in days if d is not None and not d.meta.eq(NO_DAY)]
    if not kept:
        return NO_DAY
    return kept[0] if len(kept) == 1 else pl.min_horizontal(kept)


def _fold(rows: pl.LazyFrame, counted: list[_Counted], today_n: int, name: str) -> pl.LazyFrame:
    """Per scored record, in one group-by over the rows: each rule's count (`n<i>`), total
    (`t<i>`) and, for min/max roll-ups, lowest and highest (`lo<i>`, `hi<i>`) of the points it
    counts — the (points, count) multiset a tally holds — and the earliest future day any of
    them may change (`name`)."""
    row_columns = [pl.col(SCORED)]
    aggregations: list[pl.Expr] = []
    for rule in counted:
        value = pl.col(f"c{rule.index}")
        counts = _all_of(rule.selected, rule.matched)
        points = rule.hundredths.cast(pl.Int64)
        row_columns.append(
            (points if counts.meta.eq(TRUE) else pl.when(counts).then(points)).alias(
                f"c{rule.index}"
            )
        )
        aggregations += [value.count().alias(f"n{rule.index}"), value.sum().alias(f"t{rule.index}")]
        if rule.aggregation in ("min", "max"):
            aggregations += [
                value.min().alias(f"lo{rule.index}"),
                value.max().alias(f"hi{rule.index}"),
            ]
    days: list[pl.Expr] = []
    for rule in counted:
        if rule.next_day.meta.eq(NO_DAY):
            continue
        future = _all_of(rule.selected, rule.next_day > today_n)
        day = pl.when(future).then(rule.next_day.cast(pl.Int64))
        if not any(day.meta.eq(other) for other in days):  # (rules of one type often share it)
            days.append(day)
    row_columns.append(_earliest(*days).alias(name))
    aggregations.append(pl.col(name).min())
    return rows.select(row_columns).group_by(SCORED).agg(aggregations)


def _candidates(
    definition: ScoreDefinition,
    keyed: list[tuple[int, int, Group, Rule]],
    frames: Frames,
    records: pl.LazyFrame,
    scope: pl.DataFrame,
    record_values: _Values,
    today: date,
    engine: Any,
    event_rows: Pending | None,
) -> list[tuple[pl.LazyFrame, str]]:
    """The event and associated-record rules folded per scored record: frames keyed by SCORED
    (see `_fold`), each with the name of its next-change-day column. `event_rows`: the events
    being read (`start_event_rows`)."""
    object_type = definition.object_type
    today_n = day_number(today)
    scope_index = scope.lazy().select(ID, SCORED)
    event_rules = _event_rules(keyed)
    linked_rules = [
        (i, r)
        for i, (_, _, g, r) in enumerate(keyed)
        if g.kind == "property" and r.target != "self"
    ]
    neighbour_types = {r.target for _i, r in linked_rules}
    if _links_contacts(definition) and event_rules:
        neighbour_types.add("contacts")
    pairs = pl.LazyFrame(
        schema={SCORED: pl.UInt32, "b_type": pl.String, "b_id": pl.String, "labels": LABELS}
    )
    if neighbour_types:
        pairs = _pairs(
            frames.associations, object_type, sorted(neighbour_types), scope_index, engine
        ).lazy()
        all_labels = (
            pairs.select(
                pl.col("labels")
                .list.explode(keep_nulls=False, empty_as_null=False)
                .drop_nulls()
                .unique()
            )
            .collect(engine=engine)
            .to_series()
            .to_list()
        )
    else:
        all_labels = []
    # Associated records with the properties filters and conditions read (none: no line).
    # Types no rule reads the records of (contacts linking events, mostly) are not joined.
    schema = records.collect_schema()
    properties = [c for c in schema.names() if c.startswith(PROPERTY_PREFIX)]
    read_types = _record_types(definition)
    neighbours: dict[str, pl.LazyFrame] = {}
    of_pairs = pairs
    for neighbour_type in sorted(neighbour_types):
        of_pairs = pairs.filter(pl.col("b_type") == neighbour_type)
        if neighbour_type not in read_types:
            neighbours[neighbour_type] = of_pairs.with_columns(
                pl.lit([], dtype=pl.List(pl.String)).alias("lists"),
                *(pl.lit(None, dtype=schema[c]).alias(c) for c in properties),
            )
            continue
        of_type = records.filter(pl.col("object_type") == neighbour_type).select(
            ID, "lists", *properties
        )
        ids = of_type.select(ID).collect(engine=engine)
        neighbours[neighbour_type] = join_on_ids(
            of_pairs, of_type, "b_id", ID, how="left", right_unique=ids_hash_uniquely(ids, ID)
        ).with_columns(pl.col("lists").fill_null(pl.lit([], dtype=pl.List(pl.String))))

    # Associated-record rules first, folded to one row per record, so the pairs are freed
    # before the events meet their records.
    parts: list[tuple[pl.LazyFrame, str]] = []
    for target in sorted({rule.target for _i, rule in linked_rules}):
        counted = []
        for index, rule in linked_rules:
            if rule.target != target:
                continue
            association = rule.association or DEFAULT_ASSOCIATION
            criteria = [*association.filters, *rule.conditions]
            counted.append(
                _Counted(
                    index,
                    association.aggregation,
                    _admits(association, all_labels) & _static(criteria, record_values, today),
                    _dated(criteria, record_values, today),
                    record_values.base_points(rule) * HUNDREDTHS,
                    _flips(criteria, record_values, today),
                )
            )
        name = f"next_{len(parts)}"
        folded = _fold(neighbours[target], counted, today_n, name).collect(engine=engine)
        parts.append((folded.lazy(), name))
    if event_rows is None:
        return parts
    links = None
    if _links_contacts(definition) and "contacts" in neighbours:
        links = _contact_links(
            event_rules, neighbours["contacts"], record_values, all_labels, today, engine
        )
    del pairs, neighbours, of_pairs  # (the events meet their records without the pairs)
    parts.extend(
        _event_candidates(
            definition,
            event_rules,
            event_rows.result().lazy(),
            scope_index,
            links,
            record_values,
            frames.encoded,
            today,
            engine,
        )
    )
    return parts


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
