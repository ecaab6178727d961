"""The rows each rule counts: associated pairs, the records a rule needs, and the matching
events and records per scored record with their points and the days they change."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from healthscore.domain.batch_conditions import (
    _admits,
    _dated,
    _flips,
    _static,
    _Values,
)
from healthscore.domain.batch_events import (
    _contact_links,
    _event_candidates,
    _event_rules,
    _links_contacts,
)
from healthscore.domain.batch_folds import _Counted, _fold
from healthscore.domain.batch_frames import (
    ID,
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
