"""The batch engine: the scoring semantics (docs/scoring-semantics.md) over a whole dataset with
Polars group-bys.

It scores every in-scope record at once — scores, statuses, group totals and next change day —
from lazy frames (`Frames`), with no Python loop over records or events. The reference engine
is the specification; this engine must agree with it exactly (tests/differential).

How it stays exact and fast:
- Amounts are integers in hundredths, as in the reference engine; `avg` and the score round
  half away from zero with integer arithmetic.
- A condition is a function of one property value (and of the as-of day), so it is decided
  once per *distinct* value with the shared `Condition` code and the verdicts are joined back
  as `is_in` / `replace_strict` expressions. Coercion rules (numeric strings, case-insensitive
  text, list-valued properties, date formats) therefore cannot drift from the reference.
- Event and associated-record rules share one shape: candidate rows (what passes everything
  that does not depend on the day) with, per rule, whether it counts the row today, its points
  in hundredths and the next day that may change — folded per scored record by one group-by
  per event type (each row meets only its own type's rules) and one per associated type: each
  rule's count, total and lowest/highest points, the same (points, count) multiset a tally
  holds, with no row per (event, rule) and no join per rule.
- Events are read through a sorted 64-bit hash of their ids: when no hash repeats (the loader
  may already know), the type filter and the columns reach the Parquet scan; otherwise only
  the lines whose hash repeats are compared on their keys, so the first line of a key still
  wins whatever its type. That read depends on the definition alone, so it runs on Polars'
  threads from the start, while the records and associated records are scored.
- Rows are joined on 64-bit hashes of ids and then the ids compared (`join_on_ids`); records
  are grouped by their position in the scope, which is sorted by id once, so the result is
  sorted by an integer.

Its parts: batch_frames (frames, keys, exact dedup and joins), batch_conditions (conditions as
expressions), batch_candidates (the rows each rule counts), batch_events (the events among
them), batch_folds (rows folded per record), and this module (the fold into
scores). Polars is large: of the Lambda functions only the recompute imports it (the CLI, the
notebooks and the analytics do too); the functions that score incrementally use tallies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import polars as pl

from healthscore.domain.batch_candidates import _candidates, _needed_records
from healthscore.domain.batch_conditions import (
    _all,
    _condition,
    _condition_properties,
    _flips,
    _segment_matches,
    _segment_next_day,
    _static,
    _Values,
)
from healthscore.domain.batch_events import start_event_rows
from healthscore.domain.batch_frames import (
    ID,
    NO_DAY,
    SCORED,
    BatchResult,
    Frames,
    _clamp,
    day_number,
    divide_half_up,
    first_of_each,
    properties_on,
    property_column,
)
from healthscore.domain.batch_inputs import freshness_rules, with_inputs_query
from healthscore.domain.dataset import Segment
from healthscore.domain.definition import (
    DEFAULT_ASSOCIATION,
    DefinitionError,
    Group,
    Rule,
    ScoreDefinition,
)
from healthscore.domain.overrides import check_overrides
from healthscore.domain.points import HUNDREDTHS
from healthscore.domain.reference_engine import check_segments
from healthscore.domain.values import EPOCH, utc_day


def score_frames(
    definition: ScoreDefinition,
    frames: Frames,
    as_of: datetime,
    *,
    streaming: bool = False,
) -> BatchResult:
    """Score every in-scope record. Raises DefinitionError on unknown or mistyped segments."""
    issues = [
        *check_segments(definition, frames.segments),
        *check_overrides(definition, frames.overrides),
    ]
    if issues:
        raise DefinitionError(issues)
    engine: Any = "streaming" if streaming else "auto"
    today = utc_day(as_of)
    today_n = day_number(today)
    changes = frames.changes
    frames = properties_on(frames, today_n)  # each property as it was that day
    segments = [frames.segments[s] for s in definition.segments]
    object_type = definition.object_type
    keyed = list(_keyed_rules(definition))
    # The events are read on Polars' threads while the records are.
    event_rows = start_event_rows(definition, keyed, frames, engine)
    record_properties = _record_properties(definition, segments)
    records = _needed_records(
        definition,
        frames.records,
        record_properties,
        engine,
        distinct="records" in frames.distinct_ids,
    )
    record_values = _Values(records, record_properties, frames.encoded, engine)

    # Step 1: scope — records of the type in any of the segments.
    own = records.filter(pl.col("object_type") == object_type).with_columns(
        pl.col("lists").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )
    in_any = pl.any_horizontal(
        [_segment_matches(s, record_values, today) for s in segments] or [pl.lit(False)]
    )
    scope_columns: list[pl.Expr] = [
        pl.col(ID),
        _segment_next_day(segments, record_values, today).alias("next_segment"),
        *(
            record_values.present(name).alias(f"fp{i}")
            for i, (name, _days) in enumerate(freshness_rules(definition))
        ),
    ]
    # Self property rules are decided on the record row itself.
    for index, (_g, _r, group, rule) in enumerate(keyed):
        if group.kind == "property" and rule.target == "self":
            holds = _all([_condition(c, record_values, today) for c in rule.conditions])
            value = pl.when(holds).then(record_values.base_points(rule) * HUNDREDTHS)
            scope_columns.append(_limit(value.otherwise(0), rule.limit).alias(f"v{index}"))
            static = _static(rule.conditions, record_values, today)
            scope_columns.append(
                pl.when(static)
                .then(_flips(rule.conditions, record_values, today))
                .otherwise(NO_DAY)
                .alias(f"d{index}")
            )
    # Records are joined and grouped by their position in the scope (SCORED), not their ids;
    # in the order of their ids, so the scores come out sorted by a sort of these integers.
    scope = (
        own.filter(in_any)
        .select(*scope_columns)
        .sort(ID)
        .collect(engine=engine)
        .with_row_index(SCORED)
    )

    # Steps 2–4 for event rules and associated-record rules: candidate rows folded per record.
    parts = _candidates(
        definition, keyed, frames, records, scope, record_values, today, engine, event_rows
    )
    wide = scope.lazy()
    for part, _next in parts:
        wide = wide.join(part, on=SCORED, how="left")
    wide = wide.with_columns(
        _rule_value(index, rule).alias(f"v{index}")
        for index, (_g, _r, group, rule) in enumerate(keyed)
        if not (group.kind == "property" and rule.target == "self")
    )

    # Steps 5–7: group totals, score, status; and the next change day.
    group_columns = []
    offset = 0
    totals = []
    for g, group in enumerate(definition.groups):
        rule_values = [pl.col(f"v{offset + r}") for r in range(len(group.rules))]
        offset += len(group.rules)
        cap = group.max_points * HUNDREDTHS
        total = _clamp(pl.sum_horizontal(rule_values), -cap, cap).cast(pl.Int64)
        group_columns.append(f"g{g}")
        totals.append(total.alias(f"g{g}"))
    wide = wide.with_columns(totals)
    score = _clamp(divide_half_up(pl.sum_horizontal(pl.col(group_columns)), HUNDREDTHS), 0, 100)
    wide = wide.with_columns(score.cast(pl.Int64).alias("score"))
    next_days = [
        pl.col("next_segment"),
        *(
            pl.col(f"d{i}")
            for i, (_g, _r, group, rule) in enumerate(keyed)
            if group.kind == "property" and rule.target == "self"
        ),
        *(pl.col(name) for _part, name in parts),
    ]
    next_n = pl.min_horizontal([pl.when(d > today_n).then(d).otherwise(NO_DAY) for d in next_days])
    query = wide.select(
        pl.col(SCORED),
        pl.lit(object_type).alias("object_type"),
        pl.col(ID),
        pl.col("score"),
        _status(definition, "label").alias("status"),
        _status(definition, "color").alias("color"),
        *(pl.col(c) for c in group_columns),
        (pl.lit(EPOCH) + pl.duration(days=next_n)).cast(pl.Date).alias("next_change_day"),
        *(pl.col(f"v{i}").fill_null(0).cast(pl.Int64).alias(f"r{i}") for i in range(len(keyed))),
        *(pl.col(f"fp{i}") for i in range(len(definition.freshness))),
    )
    query = with_inputs_query(definition, query, changes, frames.overrides, as_of)
    result = query.sort(SCORED).drop(SCORED).collect(engine=engine)
    return BatchResult(result, tuple(group_columns), tuple(f"r{i}" for i in range(len(keyed))))


def _keyed_rules(definition: ScoreDefinition) -> Iterable[tuple[int, int, Group, Rule]]:
    for g, group in enumerate(definition.groups):
        for r, rule in enumerate(group.rules):
            yield g, r, group, rule


def _record_properties(definition: ScoreDefinition, segments: Sequence[Segment]) -> set[str]:
    names: set[str] = set()
    for segment in segments:
        names |= _condition_properties(segment.conditions)
    for _group, rule in definition.rules():
        association = rule.association or DEFAULT_ASSOCIATION
        names |= _condition_properties(association.filters)
        if rule.event_type is None:
            names |= _condition_properties(rule.conditions)
    names |= {f.property for f in definition.freshness}
    return names


def _limit(value: pl.Expr, limit: int | None) -> pl.Expr:
    if limit is None:
        return value
    return _clamp(value, -limit * HUNDREDTHS, limit * HUNDREDTHS)


def _rule_value(index: int, rule: Rule) -> pl.Expr:
    count = pl.col(f"n{index}").fill_null(0)
    if rule.frequency is not None:
        # Decided with the shared `is_met` for every count up to the bound; beyond it, all
        # counts behave alike.
        frequency = rule.frequency
        bound = max(frequency.min or 0, frequency.max or 0) + 1
        met_counts = [c for c in range(bound) if frequency.is_met(c)]
        met = (
            pl.when(count >= bound)
            .then(pl.lit(frequency.is_met(bound)))
            .otherwise(count.is_in(pl.Series(met_counts, dtype=pl.Int64).implode()))
        )
        return pl.when(met).then(pl.lit((rule.points or 0) * HUNDREDTHS)).otherwise(0)
    how = (
        rule.aggregation
        if rule.event_type is not None
        else (rule.association or DEFAULT_ASSOCIATION).aggregation
    )
    total = pl.col(f"t{index}")
    value = {
        "sum": total,
        "avg": divide_half_up(total, count),
        "min": pl.col(f"lo{index}"),
        "max": pl.col(f"hi{index}"),
    }[how]
    value = pl.when(count > 0).then(value).otherwise(0).cast(pl.Int64)
    return _limit(value, rule.limit)


def _status(definition: ScoreDefinition, what: str) -> pl.Expr:
    """Step 7: the label (or colour) of the highest threshold whose min ≤ score."""
    thresholds = sorted(definition.thresholds, key=lambda t: t.min)
    expr: pl.Expr = pl.lit(str(getattr(thresholds[0], what)))
    for threshold in thresholds[1:]:
        expr = (
            pl.when(pl.col("score") >= threshold.min)
            .then(pl.lit(str(getattr(threshold, what))))
            .otherwise(expr)
        )
    return expr


def segment_membership(
    frames: Frames, object_type: str, segments: Sequence[Segment], as_of: datetime
) -> pl.DataFrame:
    """One row per record of the type: its id and a Boolean column per segment id."""
    today = utc_day(as_of)
    names: set[str] = set()
    for segment in segments:
        names |= _condition_properties(segment.conditions)
    records = frames.records.filter(pl.col("object_type") == object_type)
    available = set(records.collect_schema().names())
    columns = [property_column(n) for n in sorted(names) if property_column(n) in available]
    latest = (
        first_of_each(
            records.select("object_type", ID, "lists", *columns),
            ["object_type", ID],
            "auto",
            keep="last",
        )
        .lazy()
        .with_columns(pl.col("lists").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    )
    values = _Values(latest, names, frames.encoded, "auto")
    return latest.select(
        pl.col(ID), *(_segment_matches(s, values, today).alias(s.id) for s in segments)
    ).collect()


def property_text(frames: Frames, object_type: str, name: str) -> pl.DataFrame:
    """Each record's property as display text (lists joined with ", "; missing → null)."""
    records = frames.records.filter(pl.col("object_type") == object_type)
    column = property_column(name)
    if column not in records.collect_schema().names():
        return records.select(pl.col(ID), pl.lit(None, dtype=pl.String).alias(name)).collect()
    latest = first_of_each(
        records.select("object_type", ID, column), ["object_type", ID], "auto", keep="last"
    ).lazy()
    values = _Values(latest, [name], frames.encoded, "auto")
    return latest.select(pl.col(ID), values.text(name).alias(name)).collect()
