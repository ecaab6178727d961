"""A portable dataset as Polars frames, for the batch engine (docs/decisions.md (datasets)).

Parquet folders whose `properties` are struct columns are scanned lazily with typed columns and
checked with vectorised expressions, so a million-company portfolio never passes through Python
row by row. JSONL folders (and Parquet whose properties are JSON text) go through the shared
loader first — the one parser the reference engine uses, with its row-level error messages —
and become frames whose property values are JSON text (one property may mix types in JSONL).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from healthscore.adapters.dataset_files import (
    FILES,
    HISTORY,
    DatasetError,
    RowProblem,
    parse_segment,
    read_dataset,
    read_overrides,
)
from healthscore.domain.batch_frames import (
    Frames,
    any_repeated,
    day_number,
    id_hashes,
    property_column,
)
from healthscore.domain.dataset import Dataset, Segment
from healthscore.domain.definition import is_record_object_type
from healthscore.domain.values import parse_instant

LISTS = pl.List(pl.String)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# Types a property column may have in Parquet (dates must be ISO text or epoch milliseconds,
# as in JSON, so every engine reads them the same way).
_SCALARS = (
    pl.String,
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.UInt64,
    pl.Float32,
    pl.Float64,
    pl.Boolean,
    pl.Null,
)


def frames_from_dataset(dataset: Dataset) -> Frames:
    """Frames holding exactly what a loaded `Dataset` holds (values as JSON text)."""
    records = dataset.all_records()
    events = dataset.all_events()
    record_names = sorted({name for r in records for name in r.properties})
    event_names = sorted({name for e in events for name in e.properties})
    record_frame = pl.DataFrame(
        {
            "object_type": [r.object_type for r in records],
            "id": [r.id for r in records],
            "lists": [sorted(r.lists) for r in records],
        },
        schema={"object_type": pl.String, "id": pl.String, "lists": LISTS},
    ).with_columns(
        pl.Series(property_column(n), [_encode(r.properties, n) for r in records], pl.String)
        for n in record_names
    )
    pairs = dataset.association_pairs()
    association_frame = pl.DataFrame(
        {
            "from_type": [a[0] for a, _b, _l in pairs],
            "from_id": [a[1] for a, _b, _l in pairs],
            "to_type": [b[0] for _a, b, _l in pairs],
            "to_id": [b[1] for _a, b, _l in pairs],
            "labels": [sorted(labels) for _a, _b, labels in pairs],
        },
        schema={
            "from_type": pl.String,
            "from_id": pl.String,
            "to_type": pl.String,
            "to_id": pl.String,
            "labels": LISTS,
        },
    )
    event_frame = pl.DataFrame(
        {
            "id": [e.id for e in events],
            "type": [e.type for e in events],
            "day": [day_number(e.day) for e in events],
            "object_type": [e.object_type for e in events],
            "object_id": [e.object_id for e in events],
        },
        schema={
            "id": pl.String,
            "type": pl.String,
            "day": pl.Int32,
            "object_type": pl.String,
            "object_id": pl.String,
        },
    ).with_columns(
        pl.Series(property_column(n), [_encode(e.properties, n) for e in events], pl.String)
        for n in event_names
    )
    changes = dataset.property_changes
    change_frame = (
        pl.DataFrame(
            {
                "object_type": [c.object_type for c in changes],
                "id": [c.id for c in changes],
                "property": [c.name for c in changes],
                "value": [None if c.value is None else json.dumps(c.value) for c in changes],
                "day": [day_number(c.changed_at.astimezone(UTC).date()) for c in changes],
                "at": [(c.changed_at - EPOCH) // MICROSECOND for c in changes],
                "line": [c.line for c in changes],
            },
            schema={
                "object_type": pl.String,
                "id": pl.String,
                "property": pl.String,
                "value": pl.String,
                "day": pl.Int32,
                "at": pl.Int64,
                "line": pl.Int64,
            },
        ).lazy()
        if changes
        else None
    )
    return Frames(
        record_frame.lazy(),
        association_frame.lazy(),
        event_frame.lazy(),
        dict(dataset.segments),
        encoded=True,
        changes=change_frame,
        overrides=dataset.overrides,
    )


def _encode(properties: Any, name: str) -> str | None:
    value = properties.get(name)
    return None if value is None else json.dumps(value)


# ---------------------------------------------------------------------------------------------
# Folders


def scan_dataset(folder: Path | str) -> Frames:
    """Frames for a dataset folder: typed Parquet scanned lazily, anything else via the loader."""
    root = Path(folder)
    parquet = {name: root / f"{name}.parquet" for name in FILES}
    history = any((root / f"{HISTORY}{suffix}").exists() for suffix in (".jsonl", ".parquet"))
    if (
        root.is_dir()
        and not history  # property histories go through the loader (values as JSON text)
        and all(p.exists() for p in parquet.values())
        and all(_typed_properties(parquet[name]) for name in ("records", "events"))
    ):
        problems: list[RowProblem] = []
        overrides = read_overrides(root, problems)
        if problems:
            raise DatasetError(problems)
        return replace(_scan_parquet(parquet), overrides=tuple(overrides))
    return frames_from_dataset(read_dataset(root))


def _typed_properties(path: Path) -> bool:
    properties = pl.read_parquet_schema(path).get("properties")
    return properties is None or isinstance(properties, pl.Struct)


def _scan_parquet(paths: dict[str, Path]) -> Frames:
    problems: list[RowProblem] = []
    records = _unnested(pl.scan_parquet(paths["records"]), "records.parquet", problems)
    events = _unnested(pl.scan_parquet(paths["events"]), "events.parquet", problems)
    associations = pl.scan_parquet(paths["associations"])
    segments = _segments(paths["segments"], problems)
    if problems:
        raise DatasetError(problems)
    records = records.with_columns(_string_list("lists", records))
    link_schema = associations.collect_schema()
    associations = associations.select(
        *(_as_text(c, link_schema) for c in ("from_type", "from_id", "to_type", "to_id")),
        _string_list("labels", associations),
    )
    unreadable = _unreadable(events)
    events = events.with_columns(_event_day(events).alias("day"))
    distinct = _check_rows(records, associations, events, unreadable)
    return Frames(
        records,
        associations,
        events.drop("occurred_at"),
        segments,
        encoded=False,
        distinct_ids=distinct,
    )


def _unnested(frame: pl.LazyFrame, file: str, problems: list[RowProblem]) -> pl.LazyFrame:
    schema = frame.collect_schema()
    properties = schema.get("properties")
    frame = frame.with_columns(_as_text("id", schema))
    if "object_id" in schema:
        frame = frame.with_columns(_as_text("object_id", schema))
    if properties is None:
        return frame
    assert isinstance(properties, pl.Struct)
    for field in properties.fields:
        dtype = field.dtype
        inner = dtype.inner if isinstance(dtype, pl.List) else dtype
        if not any(inner == allowed for allowed in _SCALARS):
            problems.append(
                RowProblem(
                    file,
                    0,
                    f"properties.{field.name}",
                    f"a {dtype} column is not supported: properties are scalars or lists of "
                    "scalars (dates as ISO-8601 text or epoch milliseconds)",
                )
            )
    return frame.with_columns(
        pl.col("properties").struct.field(f.name).alias(property_column(f.name))
        for f in properties.fields
    ).drop("properties")


def _as_text(column: str, schema: pl.Schema) -> pl.Expr:
    """The column as text; left as it is when it already is (a cast, even to the same type,
    would keep the scan from skipping row groups by their statistics in the checks)."""
    if schema.get(column) == pl.String:
        return pl.col(column)
    return pl.col(column).cast(pl.String)


def _string_list(column: str, frame: pl.LazyFrame) -> pl.Expr:
    if column not in frame.collect_schema():
        return pl.lit([], dtype=LISTS).alias(column)
    return pl.col(column).cast(LISTS).fill_null(pl.lit([], dtype=LISTS))


def _unreadable(events: pl.LazyFrame) -> pl.Expr:
    """True of an event whose `occurred_at` gives no day (see `_event_day`), written on the
    scanned column where it can be, so row groups without nulls are skipped unread."""
    dtype = events.collect_schema()["occurred_at"]
    if dtype.is_integer() or (isinstance(dtype, pl.Datetime) and dtype.time_zone is not None):
        return pl.col("occurred_at").is_null()
    return pl.col("day").is_null()


def _event_day(events: pl.LazyFrame) -> pl.Expr:
    """The UTC day of `occurred_at`: epoch milliseconds, an aware datetime, or ISO text with an
    offset (common shapes parsed by Polars; anything else by the shared parser, see
    `_check_rows`)."""
    dtype = events.collect_schema()["occurred_at"]
    column = pl.col("occurred_at")
    if dtype.is_integer():
        return (column // 86_400_000).cast(pl.Int32)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return column.dt.convert_time_zone("UTC").dt.date().cast(pl.Int32)
    parsed = pl.coalesce(
        column.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
        for fmt in ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%dT%H:%M:%S%z")
    )
    return parsed.dt.date().cast(pl.Int32)


def _check_rows(
    records: pl.LazyFrame,
    associations: pl.LazyFrame,
    events: pl.LazyFrame,
    unreadable: pl.Expr,
) -> frozenset[str]:
    """Refuse what the shared loader would refuse: missing ids, unknown object types, events
    without a readable instant (re-checked with the shared parser before being refused).

    Each check counts the rows a cheap test suspects; the scans test those filters against
    the Parquet files' row-group statistics first, so a clean file is mostly not read at all
    for them. Only a file with suspect rows is read again, with the exact test, for the lines
    to name. The same collection reads the record and event ids' 64-bit hashes and tells which
    of records and events have no two sharing one (returned: the engine need not look for
    repeats)."""
    files = (
        ("records.parquet", records, _checks(["id"], ["object_type"])),
        (
            "associations.parquet",
            associations,
            _checks(["from_id", "to_id"], ["from_type", "to_type"]),
        ),
        ("events.parquet", events, _checks(["id", "object_id", "type"], ["object_type"])),
    )
    suspects = [
        frame.filter(suspect).select(pl.len())
        for _file, frame, checks in files
        for _column, _m, _bad, suspect in checks
    ]
    counted = pl.collect_all(
        [
            *suspects,
            events.filter(unreadable).select(pl.len()),
            records.select(id_hashes("id")),
            events.select(id_hashes("id")),
        ],
        # (run side by side, each on its own scan: a scan shared between these queries would
        # read every row of the columns they name, statistics or not)
        optimizations=pl.QueryOptFlags(comm_subplan_elim=False),
    )
    record_hashes, event_hashes = (frame.to_series() for frame in counted[-2:])
    distinct = frozenset(
        name
        for name, hashes in (("records", record_hashes), ("events", event_hashes))
        if not any_repeated(hashes)
    )
    del record_hashes, event_hashes, counted[-2:]
    verdicts = iter(frame.item() > 0 for frame in counted)
    problems: list[RowProblem] = []
    for file, frame, checks in files:
        failing = [check for check in checks if next(verdicts)]
        for line, field, message in _bad_rows(frame, failing):
            problems.append(RowProblem(file, line, field, message))
    if not next(verdicts):
        if problems:
            raise DatasetError(problems[:50])
        return distinct
    unread = (
        events.with_row_index("line", offset=1)
        .filter(pl.col("day").is_null())
        .select("line", pl.col("occurred_at").cast(pl.String))
        .head(1000)
        .collect()
    )
    for line, occurred in unread.iter_rows():
        if occurred is None or parse_instant(occurred) is None:
            problems.append(
                RowProblem(
                    "events.parquet",
                    line,
                    "occurred_at",
                    f"{occurred!r} must be ISO-8601 with an offset or epoch milliseconds",
                )
            )
    if problems:
        raise DatasetError(problems[:50])
    raise DatasetError(
        "events.parquet: some occurred_at values use an ISO-8601 form the fast reader does "
        "not parse (e.g. offsets without a colon or fractional hours); write them as "
        "YYYY-MM-DDTHH:MM:SS+HH:MM or epoch milliseconds"
    )


# (column, message, the exact test of a row, a cheap test of a row that is true whenever the
# exact one is)
_Check = tuple[str, str, pl.Expr, pl.Expr]


def _checks(ids: Iterable[str], types: Iterable[str]) -> list[_Check]:
    checks = []
    for column in ids:
        text = pl.col(column)
        # Only text that is empty or starts with a control, space or non-ASCII character can
        # strip to nothing: comparisons find those without copying every string, and the
        # files' statistics (each row group's lowest and highest id) rule most groups out.
        suspect = text.is_null() | (text < "!") | (text >= "\u0080")
        empty = text.str.strip_chars().fill_null("") == ""
        checks.append((column, "is required: a non-empty id", empty, suspect))
    for column in types:

        def unknown(values: pl.Expr) -> pl.Expr:
            return ~values.is_in(["companies", "contacts", "deals", "tickets"]) & ~(
                values.str.starts_with("custom:").fill_null(False)
            )

        checks.append(
            (
                column,
                "must be companies, contacts, deals, tickets or custom:<name>",
                unknown(pl.col(column)),
                unknown(pl.col(column)).fill_null(True),
            )
        )
    return checks


def _bad_rows(frame: pl.LazyFrame, checks: list[_Check]) -> list[tuple[int, str, str]]:
    found = []
    indexed = frame.with_row_index("line", offset=1)
    for column, message, bad, _suspect in checks:
        rows = indexed.filter(bad.fill_null(True)).select("line", pl.col(column)).head(10).collect()
        for line, value in rows.iter_rows():
            if column.endswith("type") and isinstance(value, str) and is_record_object_type(value):
                continue
            found.append((line, column, message if value is None else f"{value!r}: {message}"))
    return found


def _segments(path: Path, problems: list[RowProblem]) -> dict[str, Segment]:
    segments: dict[str, Segment] = {}
    for line, row in enumerate(pl.read_parquet(path).iter_rows(named=True), start=1):
        if isinstance(row.get("conditions"), str):
            row["conditions"] = json.loads(row["conditions"])
        try:
            segment = parse_segment(row)
        except ValueError as error:
            field = getattr(error, "field", "")
            problems.append(RowProblem("segments.parquet", line, field, str(error)))
            continue
        segments[segment.id] = segment
    return segments
