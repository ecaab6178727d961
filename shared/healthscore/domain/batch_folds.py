"""Folding candidate rows per scored record: what each rule counts on a row (`_Counted`) and
the one group-by that turns rows into each rule's count, total, lowest and highest points and
the next day that may change them (`_fold`)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from healthscore.domain.batch_frames import NO_DAY, SCORED


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
