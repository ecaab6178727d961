"""Conditions as Polars expressions: each condition decided once per distinct value with the
shared `Condition` code, date conditions as day numbers, segment membership."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import polars as pl

from healthscore.domain.batch_frames import (
    NO_DAY,
    PROPERTY_PREFIX,
    day_number,
)
from healthscore.domain.conditions import Condition, Operator
from healthscore.domain.dataset import Segment
from healthscore.domain.definition import (
    Association,
    Rule,
)
from healthscore.domain.points import points_by_position
from healthscore.domain.values import display_text, is_missing


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
        texts = [display_text(value) for value in self._decoded[name]]
        return self._keys[name].replace_strict(
            self._distinct[name],
            pl.Series(texts, dtype=pl.String),
            default=None,
            return_dtype=pl.String,
        )

    def present(self, name: str) -> pl.Expr:
        """Whether the property has a value (not null, "" or []), decided per distinct value."""
        has = [not is_missing(value) for value in self._decoded[name]]
        values = self._distinct[name].filter(pl.Series(has, dtype=pl.Boolean))
        key = self._keys[name]
        return pl.when(key.is_null()).then(False).otherwise(key.is_in(values.implode()))

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
