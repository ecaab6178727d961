"""Writing scores out (docs/decisions.md): JSON lines, CSV or Parquet with the same columns."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.reference_engine import RecordScore
from healthscore.domain.values import points_json

if TYPE_CHECKING:
    from healthscore.domain.batch_frames import BatchResult

COLUMNS = ("object_type", "id", "score", "status", "color", "groups")


def score_row(result: RecordScore) -> dict[str, Any]:
    """One line of "scores out"."""
    return {
        "object_type": result.object_type,
        "id": result.id,
        "score": result.score,
        "status": result.status,
        "color": result.color,
        "groups": {group.name: points_json(group.hundredths) for group in result.groups},
    }


def batch_rows(definition: ScoreDefinition, result: BatchResult) -> list[dict[str, Any]]:
    """ "Scores out" rows from the batch engine's frame (the same rows as `score_row`)."""
    names = [group.name for group in definition.groups]
    columns = result.group_columns
    return [
        {
            "object_type": row["object_type"],
            "id": row["id"],
            "score": row["score"],
            "status": row["status"],
            "color": row["color"],
            "groups": {
                name: points_json(row[column]) for name, column in zip(names, columns, strict=True)
            },
        }
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
    """CSV with the same columns; `groups` holds the group totals as a JSON object."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(
            [*(row[c] for c in COLUMNS[:-1]), json.dumps(row["groups"], ensure_ascii=False)]
        )
        count += 1
    return count


def write_parquet(rows: list[dict[str, Any]], path: Path) -> int:
    """Parquet with the same columns; `groups` is a struct of group totals."""
    import polars as pl  # Parquet output is batch work: only here is Polars needed

    frame = pl.DataFrame(
        rows,
        schema={
            "object_type": pl.String,
            "id": pl.String,
            "score": pl.Int64,
            "status": pl.String,
            "color": pl.String,
            "groups": pl.Struct(dict.fromkeys(rows[0]["groups"] if rows else {}, pl.Float64)),
        },
    )
    frame.write_parquet(path)
    return frame.height
