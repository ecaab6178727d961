"""Scores as a person reads them: each record's name beside its id, its score, status, group
points and a one-line "why" (`healthscore score --format table`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from healthscore.adapters.dataset_files import read_dataset
from healthscore.domain.definition import Rule, ScoreDefinition
from healthscore.domain.reference_engine import score
from healthscore.domain.values import display_name, points_json
from healthscore.services.scoring import Engine, load_frames, shortfalls

REASONS = 2


@dataclass(frozen=True, slots=True)
class TableRow:
    id: str
    name: str | None
    score: int
    status: str
    color: str
    groups: dict[str, int | float]  # group name → points
    why: str


def pull_down(
    definition: ScoreDefinition,
    groups: Sequence[int],
    rules: Sequence[int],
    override: dict[str, Any] | None = None,
    limit: int = REASONS,
) -> str:
    """Why a record scores as it does, from its point totals (hundredths in definition order):
    an override in effect first, then the rules that subtract most ("Support Tickets: Open
    tickets -10"), then the groups short of half their points; "—" when nothing pulls it down."""
    reasons = []
    if override is not None:
        reasons.append(f"overridden to {override['status']}: {override['reason']}")
    named = [(group.name, rule) for group in definition.groups for rule in group.rules]
    worst = sorted((hundredths, i) for i, hundredths in enumerate(rules) if hundredths < 0)
    reasons += [
        f"{named[i][0]}: {_what(named[i][1], hundredths)} {points_json(hundredths):+g}"
        for hundredths, i in worst
    ]
    reasons += shortfalls(definition, list(groups))
    shown = reasons[: limit + (override is not None)]
    return "; ".join(shown) if shown else "—"


def _what(rule: Rule, hundredths: int) -> str:
    """A rule as the table names it: its description, else — for a record's own property
    scored by value — the value that earned these points, else its summary."""
    by_value = rule.scored_individually_by
    if rule.description or by_value is None or rule.target != "self" or rule.event_type:
        return rule.description or rule.summary()
    values = [
        value
        for value, points in (by_value.points_by_value or {}).items()
        if points * 100 == hundredths
    ]
    return f"{by_value.property} is {values[0]}" if len(values) == 1 else f"by {by_value.property}"


def score_table(
    definition: ScoreDefinition, folder: Path, as_of: datetime, engine: Engine = Engine.POLARS
) -> list[TableRow]:
    """Every in-scope record by id, with its name (when the dataset has one) and why."""
    names = [g.name for g in definition.groups]
    if engine is Engine.REFERENCE:
        dataset = read_dataset(folder)
        return [
            TableRow(
                r.id,
                display_name(r.object_type, dataset.record((r.object_type, r.id)).properties),
                r.score,
                r.status,
                r.color,
                {g.name: points_json(g.hundredths) for g in r.groups},
                pull_down(
                    definition,
                    [g.hundredths for g in r.groups],
                    [rule.hundredths for g in r.groups for rule in g.rules],
                    r.override.to_json() if r.override else None,
                ),
            )
            for r in score(definition, dataset, as_of)
        ]
    # Imported here: the Lambda functions import the services package and never carry Polars.
    from healthscore.domain.batch_engine import score_frames
    from healthscore.services.analytics import record_names

    frames = load_frames(folder)
    result = score_frames(definition, frames, as_of)
    known = dict(record_names(frames, definition.object_type).iter_rows())
    return [
        TableRow(
            str(row["id"]),
            known.get(row["id"]),
            int(row["score"]),
            str(row["status"]),
            str(row["color"]),
            {n: points_json(row[c]) for n, c in zip(names, result.group_columns, strict=True)},
            pull_down(
                definition,
                [row[c] for c in result.group_columns],
                [row[c] for c in result.rule_columns],
                row["override"],
            ),
        )
        for row in result.frame.iter_rows(named=True)
    ]
