"""Writing scores out (docs/decisions.md): JSON lines, CSV or Parquet with the same columns."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.reference_engine import RecordScore
from healthscore.domain.values import HUNDREDTHS_PER_POINT, points_json

if TYPE_CHECKING:
    from healthscore.domain.batch_frames import BatchResult

COLUMNS = ("object_type", "id", "score", "status", "color", "groups")
EXTRA = ("computed_score", "computed_status", "override", "stale")  # only where they apply


def score_row(result: RecordScore) -> dict[str, Any]:
    """One line of "scores out": the effective score and status; an overridden record's line
    adds the computed ones and the override, a record with stale inputs lists them."""
    return with_inputs(
        {
            "object_type": result.object_type,
            "id": result.id,
            "score": result.score,
            "status": result.status,
            "color": result.color,
            "groups": {group.name: points_json(group.hundredths) for group in result.groups},
        },
        result.computed_score,
        result.computed_status,
        result.override.to_json() if result.override else None,
        list(result.stale),
    )


def with_inputs(
    row: dict[str, Any],
    computed_score: int | None,
    computed_status: str | None,
    override: dict[str, Any] | None,
    stale: list[str],
) -> dict[str, Any]:
    if override is not None:
        row |= {
            "computed_score": computed_score,
            "computed_status": computed_status,
            "override": override,
        }
    if stale:
        row["stale"] = stale
    return row


def batch_rows(definition: ScoreDefinition, result: BatchResult) -> list[dict[str, Any]]:
    """ "Scores out" rows from the batch engine's frame (the same rows as `score_row`)."""
    names = [group.name for group in definition.groups]
    columns = result.group_columns
    return [
        with_inputs(
            {
                "object_type": row["object_type"],
                "id": row["id"],
                "score": row["score"],
                "status": row["status"],
                "color": row["color"],
                "groups": {
                    name: points_json(row[column])
                    for name, column in zip(names, columns, strict=True)
                },
            },
            row["computed_score"],
            row["computed_status"],
            row["override"],
            row["stale"],
        )
        for row in result.frame.iter_rows(named=True)
    ]


def jsonl_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False)


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(jsonl_line(row) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """CSV with the same columns; `groups` holds the group totals as a JSON object, then the
    computed score and status and the override (JSON) of overridden records, and the stale
    inputs (joined with "; "), empty where they do not apply."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*COLUMNS, *EXTRA))
    count = 0
    for row in rows:
        override = row.get("override")
        writer.writerow(
            [
                *(row[c] for c in COLUMNS[:-1]),
                json.dumps(row["groups"], ensure_ascii=False),
                row.get("computed_score", ""),
                row.get("computed_status", ""),
                "" if override is None else json.dumps(override, ensure_ascii=False),
                "; ".join(row.get("stale", [])),
            ]
        )
        count += 1
    return count


def write_parquet(
    rows: list[dict[str, Any]], path: Path, groups: Sequence[str] | None = None
) -> int:
    """Parquet with the same columns; `groups` is a struct of group totals (named by `groups`,
    else by the first row's)."""
    import polars as pl  # Parquet output is batch work: only here is Polars needed

    from healthscore.domain.batch_inputs import OVERRIDE

    frame = pl.DataFrame(
        rows,
        schema={
            "object_type": pl.String,
            "id": pl.String,
            "score": pl.Int64,
            "status": pl.String,
            "color": pl.String,
            "groups": pl.Struct(
                dict.fromkeys(
                    groups if groups is not None else rows[0]["groups"] if rows else {},
                    pl.Float64,
                )
            ),
            "computed_score": pl.Int64,
            "computed_status": pl.String,
            "override": OVERRIDE,
            "stale": pl.List(pl.String),
        },
    )
    frame.write_parquet(path)
    return frame.height


def write_batch_parquet(definition: ScoreDefinition, result: BatchResult, path: Path) -> int:
    """`write_parquet(batch_rows(definition, result), path)` straight from the batch engine's
    frame: the same file, without a Python dict per record (a million records in seconds)."""
    import polars as pl

    from healthscore.domain.batch_inputs import OVERRIDE

    names = [group.name for group in definition.groups]
    overridden = pl.col("override").is_not_null()
    frame = result.frame.select(
        pl.col("object_type").cast(pl.String),
        pl.col("id").cast(pl.String),
        pl.col("score").cast(pl.Int64),
        pl.col("status").cast(pl.String),
        pl.col("color").cast(pl.String),
        pl.struct(
            (pl.col(column).cast(pl.Float64) / HUNDREDTHS_PER_POINT).round(2).alias(name)
            for name, column in zip(names, result.group_columns, strict=True)
        ).alias("groups"),
        pl.when(overridden).then(pl.col("computed_score")).cast(pl.Int64).alias("computed_score"),
        pl.when(overridden)
        .then(pl.col("computed_status"))
        .cast(pl.String)
        .alias("computed_status"),
        pl.col("override").cast(OVERRIDE),
        pl.when(pl.col("stale").list.len() > 0).then(pl.col("stale")).cast(pl.List(pl.String)),
    )
    frame.write_parquet(path)
    return frame.height
