"""The frames the batch engine reads and the frame operations it relies on: exact duplicate
detection and joins on string ids through 64-bit hashes, half-up division, clamping."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import polars as pl

from healthscore.domain.dataset import Segment
from healthscore.domain.overrides import Override
from healthscore.domain.values import EPOCH

PROPERTY_PREFIX = "p."

EVENT_PREFIX = "e."  # event properties, once event rows meet contact rows

ID = "id"

SCORED = "scored"  # the scored record's position in the scope (UInt32)

ID_HASH = "_id_hash"

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
    # property histories: object_type, id, property, value (JSON text, null: cleared), day
    # (Int32), at (µs since epoch) and line — only with `encoded` columns
    changes: pl.LazyFrame | None = None
    overrides: tuple[Override, ...] = ()  # statuses set by hand (few: plain domain objects)
    # "records" and/or "events" when the loader found no two lines' ids sharing a 64-bit hash
    # (so no key repeats): the engine then skips its own check
    distinct_ids: frozenset[str] = frozenset()


def properties_on(frames: Frames, today: int) -> Frames:
    """The records as they were on day `today` (see `Dataset.at`): a property with history
    takes its latest change on or before that day (null if none by then, or cleared); others
    keep their value. One left join per property that has a history."""
    if frames.changes is None:
        return frames
    keys = ["object_type", "id"]
    changes = frames.changes
    by_then = (
        changes.filter(pl.col("day") <= today)
        .group_by([*keys, "property"])
        .agg(pl.col("value").sort_by(["at", "line"]).last().alias("__value"))
    )
    names = changes.select("property").unique().collect()["property"].sort().to_list()
    records = frames.records
    present = set(records.collect_schema().names())
    for name in names:
        column = property_column(name)
        if column not in present:
            records = records.with_columns(pl.lit(None, pl.String).alias(column))
        touched = (
            changes.filter(pl.col("property") == name)
            .select(keys)
            .unique()
            .with_columns(pl.lit(True).alias("__touched"))
        )
        then = by_then.filter(pl.col("property") == name).select([*keys, "__value"])
        records = (
            records.join(touched, on=keys, how="left")
            .join(then, on=keys, how="left")
            .with_columns(
                pl.when(pl.col("__touched"))
                .then(pl.col("__value"))
                .otherwise(pl.col(column))
                .alias(column)
            )
            .drop(["__touched", "__value"])
        )
    return replace(frames, records=records, changes=None)


@dataclass(frozen=True)
class BatchResult:
    """Scores as a frame: object_type, id, score, status, color, one Int64 column of group
    hundredths per group (`group_columns`, in definition order), next_change_day (Date), and
    one Int64 column of rule hundredths per rule (`rule_columns`, group by group)."""

    frame: pl.DataFrame
    group_columns: tuple[str, ...]
    rule_columns: tuple[str, ...] = ()


def divide_half_up(numerator: pl.Expr, denominator: pl.Expr | int) -> pl.Expr:
    """Integer division rounding half away from zero: (2|n| + d) // 2d, signed."""
    quotient = (numerator.abs() * 2 + denominator) // (pl.lit(2) * denominator)
    return pl.when(numerator < 0).then(-quotient).otherwise(quotient)


def _clamp(expr: pl.Expr, low: int, high: int) -> pl.Expr:
    return expr.clip(low, high)


def repeated_values(hashes: pl.Series) -> pl.Series | None:
    """Which elements occur more than once (None when none does).

    Sort-based: at 20M rows it is several times faster than `Series.is_duplicated`, and the
    common case, no repeats at all, is settled by one sort and a comparison of neighbours.
    """
    if not any_repeated(hashes):
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


def id_hashes(column: str) -> pl.Expr:
    """The column's 64-bit hashes (collect them, then ask `any_repeated`: sorting inside the
    query would hold the whole column, strings and all, in memory first)."""
    return pl.col(column).hash().alias(f"_{column}_hash")


def any_repeated(hashes: pl.Series) -> bool:
    """Whether any two hashes are equal: one sort and a comparison of neighbours."""
    if hashes.len() < 2:
        return False
    ordered = hashes.sort()
    return bool((ordered.slice(1) == ordered.slice(0, hashes.len() - 1)).any())


def first_of_each_kept_query(
    frame: pl.LazyFrame,
    keys: list[str],
    screen: str,
    keep: pl.Expr,
    columns: list[pl.Expr],
    engine: Any,
    *,
    last: bool = False,
    distinct: bool = False,
) -> pl.LazyFrame:
    """The query of `first_of_each(frame, keys).filter(keep).select(columns)` (the last line
    of each key with `last`), lines already screened: from every row only the hash of the
    `screen` key column is read (equal keys have equal screens), so the filter and the column
    selection reach the scan.

    Exact: a row is dropped as a repeat only by an earlier row with the same keys, whatever
    `keep` says of that earlier row, and only rows whose screen hash repeats are compared on
    the keys themselves. The common case, no repeated hash at all, costs one sort of hashes
    (none with `distinct`: the caller knows no screen hash repeats, see `any_repeated`).
    """
    if distinct:
        return frame.filter(keep).select(columns)
    repeated = repeated_values(frame.select(id_hashes(screen)).collect(engine=engine).to_series())
    if repeated is None:
        return frame.filter(keep).select(columns)
    lines = repeated.arg_true().cast(pl.UInt32)
    numbered = frame.with_row_index("_line")
    suspects = (
        numbered.filter(pl.col("_line").is_in(lines.implode()))
        .select("_line", *keys)
        .collect(engine=engine)
        .sort("_line")
    )
    kept = pl.struct(keys).is_last_distinct() if last else pl.struct(keys).is_first_distinct()
    later = suspects.filter(~kept).get_column("_line")
    return (
        numbered.filter(keep & ~pl.col("_line").is_in(later.implode()))
        .drop("_line")
        .select(columns)
    )


class Pending:
    """A frame collected on Polars' threads while Python goes on to other work; `result()`
    waits for it."""

    def __init__(self, query: pl.LazyFrame, engine: Any) -> None:
        self._running: Any = query.collect(engine=engine, background=True)
        self._frame: pl.DataFrame | None = None

    def result(self) -> pl.DataFrame:
        if self._frame is None:
            self._frame = self._running.fetch_blocking()
            self._running = None
        assert self._frame is not None
        return self._frame


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
        # (`fill_null` keeps Polars from making the comparison a second join key: joining on
        # the row-encoded (hash, id) pair costs more than this check of each hash match)
        same = joined.filter((pl.col(left_on) == pl.col(right_id)).fill_null(False))
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
