"""The batch engine: DESIGN.md §5 over a whole dataset with Polars group-bys.

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
  that does not depend on the day) with `matched`, `hundredths` and `next_day` columns, folded by
  one `group_by(record, rule)` — the same (points, count) multiset a tally holds.

Only the recompute path imports this module (Polars is large); the Lambda functions that score
incrementally use tallies instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from healthscore.domain.conditions import Condition, Operator
from healthscore.domain.dataset import Segment
from healthscore.domain.definition import (
    DEFAULT_ASSOCIATION,
    Association,
    DefinitionError,
    Group,
    Rule,
    ScoreDefinition,
)
from healthscore.domain.reference_engine import HUNDREDTHS, check_segments, points_by_position
from healthscore.domain.values import EPOCH, as_text, is_missing, utc_day

PROPERTY_PREFIX = "p."
EVENT_PREFIX = "e."  # event properties, once event rows meet contact rows
ID = "id"
SCORED = "scored"  # the scored record's position in the scope (UInt32)
ID_HASH = "_id_hash"
RULE = "rule"
NO_DAY = pl.lit(None, dtype=pl.Int64)


def property_column(name: str) -> str:
    return PROPERTY_PREFIX + name


def day_number(day: date) -> int:
    """Days since 1970-01-01: how days are held in frames."""
    return (day - EPOCH).days


@dataclass(frozen=True)
class Frames:
    """A dataset as lazy frames (see adapters/dataset_frames.py for how folders become these).

    - records: object_type, id, lists (list of str) and one `p.<name>` column per property;
    - associations: from_type, from_id, to_type, to_id, labels (list of str), one line per link;
    - events: id, type, day (Int32 days since epoch, UTC), object_type, object_id, `p.<name>`;
    - segments: by id (small; plain domain objects).

    `encoded`: property columns hold each value as JSON text (from the shared JSONL loader,
    where one property may mix types); otherwise they are typed columns (Parquet).
    Duplicates are allowed as in files: the engine keeps the last record line and the first
    event per (object_type, object_id, id).
    """

    records: pl.LazyFrame
    associations: pl.LazyFrame
    events: pl.LazyFrame
    segments: dict[str, Segment] = field(default_factory=dict)
    encoded: bool = False


@dataclass(frozen=True)
class BatchResult:
    """Scores as a frame: object_type, id, score, status, color, one Int64 column of group
    hundredths per group (`group_columns`, in definition order), next_change_day (Date), and
    one Int64 column of rule hundredths per rule (`rule_columns`, group by group)."""

    frame: pl.DataFrame
    group_columns: tuple[str, ...]
    rule_columns: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Conditions, decided once per distinct value


class _Values:
    """The distinct values of the property columns of one frame, decoded for `Condition`."""

    def __init__(
        self,
        frame: pl.LazyFrame,
        names: Iterable[str],
        encoded: bool,
        engine: Any,
        prefix: str = PROPERTY_PREFIX,
    ) -> None:
        schema = frame.collect_schema()
        self._keys: dict[str, pl.Expr] = {}
        self._dtypes: dict[str, pl.DataType] = {}
        wanted = sorted(set(names))
        for name in wanted:
            column = prefix + name
            dtype = schema.get(column)
            if dtype is None:
                self._keys[name] = pl.lit(None, dtype=pl.String)
            elif isinstance(dtype, pl.List):
                # Lists are compared by their JSON text: exact and hashable.
                self._keys[name] = pl.struct(pl.col(column).alias("v")).struct.json_encode()
            else:
                self._keys[name] = pl.col(column)
        present = [n for n in wanted if schema.get(prefix + n) is not None]
        uniques = (
            frame.select([self._keys[n].unique().implode().alias(n) for n in present]).collect(
                engine=engine
            )
            if present
            else pl.DataFrame()
        )
        self._distinct: dict[str, pl.Series] = {}
        self._decoded: dict[str, list[Any]] = {}
        for name in wanted:
            if name in present:
                series = uniques[name][0].drop_nulls()
                listed = isinstance(schema[prefix + name], pl.List)
            else:
                series, listed = pl.Series(name, [], dtype=pl.String), False
            self._distinct[name] = series
            values = series.to_list()
            if listed:
                self._decoded[name] = [json.loads(v)["v"] for v in values]
            elif encoded:
                self._decoded[name] = [json.loads(v) for v in values]
            else:
                self._decoded[name] = values

    def key(self, name: str) -> pl.Expr:
        return self._keys[name]

    def text(self, name: str) -> pl.Expr:
        """The property as display text, decided per distinct value like the conditions."""
        texts = [_display(value) for value in self._decoded[name]]
        return self._keys[name].replace_strict(
            self._distinct[name],
            pl.Series(texts, dtype=pl.String),
            default=None,
            return_dtype=pl.String,
        )

    def holds(self, condition: Condition, today: date) -> pl.Expr:
        """The condition's truth on each row (not for list-membership operators)."""
        name = condition.property or ""
        verdicts = [condition.holds({name: value}, (), today) for value in self._decoded[name]]
        true_values = self._distinct[name].filter(pl.Series(verdicts, dtype=pl.Boolean))
        when_missing = condition.holds({}, (), today)
        key = self._keys[name]
        return (
            pl.when(key.is_null())
            .then(pl.lit(when_missing))
            .otherwise(key.is_in(true_values.implode()))
        )

    def flip_day(self, condition: Condition, today: date) -> pl.Expr:
        """The earliest future day a date-relative condition can flip on each row (or null)."""
        name = condition.property or ""
        flips = [
            min(
                (day_number(d) for d in condition.boundary_days({name: value}, today)), default=None
            )
            for value in self._decoded[name]
        ]
        return self._keys[name].replace_strict(
            self._distinct[name],
            pl.Series(flips, dtype=pl.Int64),
            default=None,
            return_dtype=pl.Int64,
        )

    def base_points(self, rule: Rule) -> pl.Expr:
        """`points`, or the sum of the points of every value the property matches."""
        condition = rule.scored_individually_by
        if condition is None:
            return pl.lit(rule.points or 0, dtype=pl.Int64)
        name = condition.property or ""
        by_position = points_by_position(condition)
        earned = [
            sum(by_position[i] for i in condition.matched_values({name: value}))
            for value in self._decoded[name]
        ]
        return self._keys[name].replace_strict(
            self._distinct[name],
            pl.Series(earned, dtype=pl.Int64),
            default=0,
            return_dtype=pl.Int64,
        )


def _display(value: Any) -> str | None:
    elements = value if isinstance(value, list) else [value]
    shown = [as_text(e) for e in elements if not is_missing(e)]
    return ", ".join(shown) if shown else None


def _condition(condition: Condition, values: _Values, today: date) -> pl.Expr:
    if condition.operator in (Operator.IN_LIST, Operator.NOT_IN_LIST):
        member = pl.col("lists").list.contains(pl.lit(str(condition.value))).fill_null(False)
        return member if condition.operator is Operator.IN_LIST else ~member
    return values.holds(condition, today)


def _all(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return pl.all_horizontal(exprs) if exprs else pl.lit(True)


def _static(conditions: Iterable[Condition], values: _Values, today: date) -> pl.Expr:
    return _all([_condition(c, values, today) for c in conditions if not c.is_date_relative])


def _dated(conditions: Iterable[Condition], values: _Values, today: date) -> pl.Expr:
    return _all([_condition(c, values, today) for c in conditions if c.is_date_relative])


def _flips(conditions: Iterable[Condition], values: _Values, today: date) -> pl.Expr:
    flips = [values.flip_day(c, today) for c in conditions if c.is_date_relative]
    return pl.min_horizontal(flips) if flips else NO_DAY


def _condition_properties(conditions: Iterable[Condition]) -> set[str]:
    return {c.property for c in conditions if c.property}


def _admits(association: Association, all_labels: Sequence[str]) -> pl.Expr:
    """Labels are matched case-insensitively with the shared rule, decided per distinct label."""
    if not association.labels:
        return pl.lit(True)
    admitted = [label for label in all_labels if association.admits(frozenset([label]))]
    return (
        pl.col("labels")
        .list.eval(pl.element().is_in(pl.Series(admitted, dtype=pl.String).implode()))
        .list.any()
        .fill_null(False)
    )


# ---------------------------------------------------------------------------------------------
# Integer arithmetic shared with the reference engine


def divide_half_up(numerator: pl.Expr, denominator: pl.Expr | int) -> pl.Expr:
    """Integer division rounding half away from zero: (2|n| + d) // 2d, signed."""
    quotient = (numerator.abs() * 2 + denominator) // (pl.lit(2) * denominator)
    return pl.when(numerator < 0).then(-quotient).otherwise(quotient)


def _clamp(expr: pl.Expr, low: int, high: int) -> pl.Expr:
    return expr.clip(low, high)


# ---------------------------------------------------------------------------------------------
# The engine


def repeated_values(hashes: pl.Series) -> pl.Series | None:
    """Which elements occur more than once (None when none does).

    Sort-based: at 20M rows it is several times faster than `Series.is_duplicated`, and the
    common case, no repeats at all, is settled by `n_unique` alone.
    """
    if hashes.n_unique() == hashes.len():
        return None
    order = hashes.arg_sort()
    ordered = hashes.gather(order)
    repeats = ((ordered == ordered.shift(1)) | (ordered == ordered.shift(-1))).fill_null(False)
    return (
        pl.repeat(False, hashes.len(), dtype=pl.Boolean, eager=True)
        .scatter(order.filter(repeats), True)
        .alias(hashes.name)
    )


def first_of_each(
    frame: pl.LazyFrame, keys: list[str], engine: Any, *, keep: str = "first"
) -> pl.DataFrame:
    """Rows with distinct keys, keeping the first (or last) of each in file order.

    Exact, and cheap when duplicates are rare: rows are bucketed by a 64-bit hash of their keys,
    and only rows whose hash repeats (true duplicates and hash collisions) are compared on the
    keys themselves.
    """
    hashed = frame.with_columns(pl.struct(keys).hash().alias("_key_hash")).collect(engine=engine)
    repeated = repeated_values(hashed.get_column("_key_hash"))
    if repeated is None:
        return hashed.drop("_key_hash")
    distinct = (
        pl.struct(keys).is_first_distinct()
        if keep == "first"
        else pl.struct(keys).is_last_distinct()
    )
    return pl.concat([hashed.filter(~repeated), hashed.filter(repeated).filter(distinct)]).drop(
        "_key_hash"
    )


def join_on_ids(
    left: pl.LazyFrame,
    right: pl.LazyFrame,
    left_on: str,
    right_on: str,
    *,
    how: str = "inner",
    right_unique: bool = False,
) -> pl.LazyFrame:
    """`left.join(right, left_on=..., right_on=...)` on string ids, exact, without hashing the
    strings into a join table: rows are joined on a 64-bit hash of the id and then the ids
    themselves are compared.

    An inner join is exact whatever the hashes (it only drops hash-equal, id-different pairs).
    A left join needs `right_unique` (no two right ids share a hash — check with
    `ids_hash_uniquely`): the one hash match of a row is then kept or nulled by the comparison.
    """
    hashed_left = left.with_columns(pl.col(left_on).hash().alias(ID_HASH))
    hashed_right = right.with_columns(pl.col(right_on).hash().alias(ID_HASH))
    if how == "inner":
        joined = hashed_left.join(hashed_right, on=ID_HASH, how="inner", suffix="_r")
        right_id = right_on if right_on != left_on else right_on + "_r"
        same = joined.filter(pl.col(left_on) == pl.col(right_id))
        return same.drop(ID_HASH, *([right_id] if right_id != left_on else []))
    if how != "left" or not right_unique:
        return left.join(right, left_on=left_on, right_on=right_on, how=how)  # type: ignore[arg-type]
    right_columns = [c for c in right.collect_schema().names() if c != right_on]
    kept = hashed_right.select(ID_HASH, pl.col(right_on).alias("_right_id"), *right_columns)
    joined = hashed_left.join(kept, on=ID_HASH, how="left")
    matches = pl.col("_right_id") == pl.col(left_on)
    return joined.with_columns(
        pl.when(matches).then(pl.col(c)).otherwise(None).alias(c) for c in right_columns
    ).drop(ID_HASH, "_right_id")


def ids_hash_uniquely(frame: pl.DataFrame, column: str) -> bool:
    """Whether no two rows' ids share a 64-bit hash (ids must already be distinct)."""
    distinct: int = frame.select(pl.col(column).hash().n_unique()).item()
    return distinct == frame.height


def score_frames(
    definition: ScoreDefinition,
    frames: Frames,
    as_of: datetime,
    *,
    streaming: bool = False,
) -> BatchResult:
    """Score every in-scope record. Raises DefinitionError on unknown or mistyped segments."""
    issues = check_segments(definition, frames.segments)
    if issues:
        raise DefinitionError(issues)
    engine: Any = "streaming" if streaming else "auto"
    today = utc_day(as_of)
    today_n = day_number(today)
    segments = [frames.segments[s] for s in definition.segments]
    object_type = definition.object_type
    keyed = list(_keyed_rules(definition))
    record_properties = _record_properties(definition, segments)
    records = _needed_records(definition, frames.records, record_properties, engine)
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
    # Records are joined and grouped by their position in the scope (SCORED), not their ids.
    scope = own.filter(in_any).select(*scope_columns).collect(engine=engine).with_row_index(SCORED)

    # Steps 2–4 for event rules and associated-record rules: candidate rows, one group-by.
    candidates = _candidates(
        definition, keyed, frames, records, scope, record_values, today, engine
    )
    counted = pl.col("counted")
    folded = (
        candidates.with_columns(
            pl.when(pl.col("matched")).then(pl.col("hundredths")).alias("counted"),
            pl.when(pl.col("next_day") > today_n).then(pl.col("next_day")).alias("next_day"),
        )
        .group_by([SCORED, RULE])
        .agg(
            counted.count().alias("n"),
            counted.sum().alias("total"),
            counted.min().alias("low"),
            counted.max().alias("high"),
            pl.col("next_day").min(),
        )
        .collect(engine=engine)
    )
    by_rule = folded.partition_by(RULE, as_dict=True)
    empty = folded.clear()
    wide = scope
    for index, (_g, _r, group, rule) in enumerate(keyed):
        if group.kind == "property" and rule.target == "self":
            continue
        part = by_rule.get((index,), empty).select(
            pl.col(SCORED),
            pl.col("n").alias(f"n{index}"),
            pl.col("total").alias(f"t{index}"),
            pl.col("low").alias(f"lo{index}"),
            pl.col("high").alias(f"hi{index}"),
            pl.col("next_day").alias(f"d{index}"),
        )
        wide = wide.join(part, on=SCORED, how="left")
        wide = wide.with_columns(_rule_value(index, rule).alias(f"v{index}"))

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
    next_days = [pl.col("next_segment"), *(pl.col(f"d{i}") for i in range(len(keyed)))]
    next_n = pl.min_horizontal([pl.when(d > today_n).then(d).otherwise(NO_DAY) for d in next_days])
    result = wide.select(
        pl.lit(object_type).alias("object_type"),
        pl.col(ID),
        pl.col("score"),
        _status(definition, "label").alias("status"),
        _status(definition, "color").alias("color"),
        *(pl.col(c) for c in group_columns),
        (pl.lit(EPOCH) + pl.duration(days=next_n)).cast(pl.Date).alias("next_change_day"),
        *(pl.col(f"v{i}").fill_null(0).cast(pl.Int64).alias(f"r{i}") for i in range(len(keyed))),
    ).sort(ID)
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
    return names


def _segment_matches(segment: Segment, values: _Values, today: date) -> pl.Expr:
    return _segment_static(segment, values, today) & _dated(segment.conditions, values, today)


def _segment_static(segment: Segment, values: _Values, today: date) -> pl.Expr:
    member = (
        pl.col("lists")
        .list.eval(pl.element().is_in(pl.Series(list(segment.lists), dtype=pl.String).implode()))
        .list.any()
        if segment.lists
        else pl.lit(True)
    )
    return member & _static(segment.conditions, values, today)


def _segment_next_day(segments: Sequence[Segment], values: _Values, today: date) -> pl.Expr:
    days = [
        pl.when(_segment_static(s, values, today))
        .then(_flips(s.conditions, values, today))
        .otherwise(NO_DAY)
        for s in segments
    ]
    return pl.min_horizontal(days) if days else NO_DAY


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


# ---------------------------------------------------------------------------------------------
# Candidate rows: events and associated records


def _pairs(
    associations: pl.LazyFrame, object_type: str, neighbour_types: list[str], engine: Any
) -> pl.LazyFrame:
    """Each record of the score's type with its associated records of the types rules read,
    once per pair, with the union of the labels of every line linking them."""
    directions = [
        associations.filter(
            pl.col(one + "_type") == object_type, pl.col(other + "_type").is_in(neighbour_types)
        ).select(
            pl.col(one + "_type").alias("a_type"),
            pl.col(one + "_id").alias("a_id"),
            pl.col(other + "_type").alias("b_type"),
            pl.col(other + "_id").alias("b_id"),
            pl.col("labels"),
        )
        for one, other in (("from", "to"), ("to", "from"))
    ]
    lines = (
        pl.concat(directions)
        .with_columns(pl.struct("a_type", "a_id", "b_type", "b_id").hash().alias("_pair_hash"))
        .collect(engine=engine)
    )
    repeated = repeated_values(lines.get_column("_pair_hash"))
    if repeated is None:
        repeated = pl.repeat(False, lines.height, dtype=pl.Boolean, eager=True)
    # Only pairs linked by several lines (and hash collisions) need their labels merged.
    merged = (
        lines.lazy()
        .filter(repeated)
        .group_by(["a_type", "a_id", "b_type", "b_id"])
        .agg(pl.col("labels").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls())
        .with_columns(pl.col("labels").list.unique())
    )
    # A null label matches no association's labels, so single lines keep theirs as they are.
    single = lines.lazy().filter(~repeated).select("a_type", "a_id", "b_type", "b_id", "labels")
    return pl.concat([single, merged])


def _needed_records(
    definition: ScoreDefinition, records: pl.LazyFrame, names: set[str], engine: Any
) -> pl.LazyFrame:
    """The records rules and segments read (the last line of each), with only the columns they
    read: the score's type, the types of associated-record rules, and contacts when event
    rules filter on their properties."""
    types: set[str] = {definition.object_type}
    for _group, rule in definition.rules():
        association = rule.association or DEFAULT_ASSOCIATION
        if rule.event_type is None and rule.target != "self":
            types.add(rule.target)
        elif rule.event_type is not None and association.filters:
            types.add("contacts")
    available = set(records.collect_schema().names())
    columns = [property_column(n) for n in sorted(names) if property_column(n) in available]
    needed = records.filter(pl.col("object_type").is_in(sorted(types))).select(
        "object_type", ID, "lists", *columns
    )
    return first_of_each(needed, ["object_type", ID], engine, keep="last").lazy()


def _candidates(
    definition: ScoreDefinition,
    keyed: list[tuple[int, int, Group, Rule]],
    frames: Frames,
    records: pl.LazyFrame,
    scope: pl.DataFrame,
    record_values: _Values,
    today: date,
    engine: Any,
) -> pl.LazyFrame:
    object_type = definition.object_type
    scope_index = scope.lazy().select(ID, SCORED)
    event_rules = [(i, g, r) for i, (_, _, g, r) in enumerate(keyed) if r.event_type is not None]
    linked_rules = [
        (i, r)
        for i, (_, _, g, r) in enumerate(keyed)
        if g.kind == "property" and r.target != "self"
    ]
    neighbour_types = {r.target for _i, r in linked_rules}
    if object_type == "companies" and event_rules:
        neighbour_types.add("contacts")
    pairs = join_on_ids(
        _pairs(frames.associations, object_type, sorted(neighbour_types), engine),
        scope_index,
        "a_id",
        ID,
    ).select(SCORED, "b_type", "b_id", "labels")
    if neighbour_types:
        pairs = pairs.collect(engine=engine).lazy()
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
    properties = [c for c in records.collect_schema().names() if c.startswith(PROPERTY_PREFIX)]
    by_type = []
    for neighbour_type in sorted(neighbour_types):
        of_type = records.filter(pl.col("object_type") == neighbour_type).select(
            ID, "lists", *properties
        )
        ids = of_type.select(ID).collect(engine=engine)
        by_type.append(
            join_on_ids(
                pairs.filter(pl.col("b_type") == neighbour_type),
                of_type,
                "b_id",
                ID,
                how="left",
                right_unique=ids_hash_uniquely(ids, ID),
            )
        )
    neighbours = (
        pl.concat(by_type)
        if by_type
        else pairs.with_columns(
            pl.lit(None, dtype=pl.List(pl.String)).alias("lists"),
            *(pl.lit(None).alias(c) for c in properties),
        )
    ).with_columns(pl.col("lists").fill_null(pl.lit([], dtype=pl.List(pl.String))))

    parts: list[pl.LazyFrame] = []
    if event_rules:
        parts.extend(
            _event_candidates(
                definition,
                event_rules,
                frames.events,
                scope_index,
                neighbours,
                record_values,
                all_labels,
                frames.encoded,
                today,
                engine,
            )
        )
    for index, rule in linked_rules:
        association = rule.association or DEFAULT_ASSOCIATION
        criteria = [*association.filters, *rule.conditions]
        rows = neighbours.filter(
            pl.col("b_type") == rule.target,
            _admits(association, all_labels),
            _static(criteria, record_values, today),
        )
        parts.append(
            rows.select(
                pl.col(SCORED),
                pl.lit(index, dtype=pl.Int32).alias(RULE),
                _dated(criteria, record_values, today).alias("matched"),
                (record_values.base_points(rule) * HUNDREDTHS).alias("hundredths"),
                _flips(criteria, record_values, today).alias("next_day"),
            )
        )
    if not parts:
        return pl.LazyFrame(
            schema={
                SCORED: pl.UInt32,
                RULE: pl.Int32,
                "matched": pl.Boolean,
                "hundredths": pl.Int64,
                "next_day": pl.Int64,
            }
        )
    return pl.concat(parts)


def _event_candidates(
    definition: ScoreDefinition,
    event_rules: list[tuple[int, Group, Rule]],
    events: pl.LazyFrame,
    scope_index: pl.LazyFrame,
    neighbours: pl.LazyFrame,
    record_values: _Values,
    all_labels: list[str],
    encoded: bool,
    today: date,
    engine: Any,
) -> list[pl.LazyFrame]:
    today_n = day_number(today)
    types = sorted({rule.event_type for _i, _g, rule in event_rules if rule.event_type})
    event_properties = set()
    for _i, _g, rule in event_rules:
        event_properties |= _condition_properties(rule.conditions)
    # Event properties are renamed `e.<name>` so they never meet a contact's `p.<name>`.
    columns = set(events.collect_schema().names())
    wanted = [n for n in sorted(event_properties) if property_column(n) in columns]
    needed = events.select(
        ID, "type", "day", "object_type", "object_id", *(property_column(n) for n in wanted)
    )
    base = (
        first_of_each(needed, ["object_type", "object_id", ID], engine)
        .lazy()
        .filter(pl.col("type").is_in(types))
        .select(
            pl.col("type"),
            pl.col("day").cast(pl.Int64),
            pl.col("object_type"),
            pl.col("object_id"),
            *(pl.col(property_column(n)).alias(EVENT_PREFIX + n) for n in wanted),
        )
        .collect(engine=engine)
        .lazy()
    )
    event_values = _Values(base, event_properties, encoded, engine, prefix=EVENT_PREFIX)
    own_events = join_on_ids(
        base.filter(pl.col("object_type") == definition.object_type),
        scope_index,
        "object_id",
        ID,
    )
    own = own_events.select(
        pl.col(SCORED),
        pl.lit(True).alias("own"),
        pl.exclude(SCORED, "object_id", "object_type"),
    )
    sources = [own]
    if definition.object_type == "companies":
        # A contact's association filters and labels are decided once per (company, contact)
        # link, so event rows carry a few Boolean and day columns rather than the contact.
        link_columns = []
        for index, _group, rule in event_rules:
            association = rule.association or DEFAULT_ASSOCIATION
            if association.labels or association.filters:
                link_columns += [
                    (
                        _admits(association, all_labels)
                        & _static(association.filters, record_values, today)
                    ).alias(f"ok{index}"),
                    _dated(association.filters, record_values, today).alias(f"dated{index}"),
                    _flips(association.filters, record_values, today).alias(f"flip{index}"),
                ]
        links = neighbours.filter(pl.col("b_type") == "contacts").select(
            SCORED, "b_id", *link_columns
        )
        theirs = join_on_ids(
            base.filter(pl.col("object_type") == "contacts"), links, "object_id", "b_id"
        )
        sources.append(
            theirs.select(
                pl.col(SCORED),
                pl.lit(False).alias("own"),
                pl.exclude(SCORED, "object_id", "object_type"),
            )
        )
    rows = pl.concat(sources, how="diagonal_relaxed").collect(engine=engine).lazy()

    parts = []
    age = pl.lit(today_n) - pl.col("day")
    for index, group, rule in event_rules:
        association = rule.association or DEFAULT_ASSOCIATION
        linked = bool(association.labels or association.filters) and (
            definition.object_type == "companies"
        )
        contact_ok = pl.col(f"ok{index}") if linked else pl.lit(True)
        selected = rows.filter(
            pl.col("type") == rule.event_type,
            _static(rule.conditions, event_values, today),
            pl.col("own") | contact_ok,
        )
        in_timeframe = age < rule.timeframe.days if rule.timeframe else pl.lit(True)
        if group.decay is not None:
            steps = age // group.decay.every.days
            factor = (pl.lit(100) - steps * group.decay.percent).clip(lower_bound=0)
            step_day = pl.col("day") + (steps + 1) * group.decay.every.days
        else:
            factor, step_day = pl.lit(100), NO_DAY
        filter_dated = pl.col("own") | (pl.col(f"dated{index}") if linked else pl.lit(True))
        counts = (age >= 0) & in_timeframe & (factor > 0)
        matched = counts & _dated(rule.conditions, event_values, today) & filter_dated
        exit_day = pl.col("day") + rule.timeframe.days if rule.timeframe else NO_DAY
        filter_flips = (
            pl.when(pl.col("own"))
            .then(NO_DAY)
            .otherwise(pl.col(f"flip{index}") if linked else NO_DAY)
        )
        next_day = (
            pl.when(age < 0)
            .then(pl.col("day"))
            .when(~counts)
            .then(NO_DAY)
            .otherwise(
                pl.min_horizontal(
                    _flips(rule.conditions, event_values, today), filter_flips, exit_day, step_day
                )
            )
        )
        parts.append(
            selected.select(
                pl.col(SCORED),
                pl.lit(index, dtype=pl.Int32).alias(RULE),
                matched.alias("matched"),
                (event_values.base_points(rule) * factor).cast(pl.Int64).alias("hundredths"),
                next_day.cast(pl.Int64).alias("next_day"),
            )
        )
    return parts


# ---------------------------------------------------------------------------------------------
# Segment membership and record properties, for reports


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
