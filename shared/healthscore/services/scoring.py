"""Use cases of the scoring core: load a definition, score a dataset, explain, summarise.

The CLI (and later the API) call these; they wire the domain to the file adapters.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healthscore.adapters.dataset_files import read_dataset
from healthscore.adapters.score_files import (
    batch_rows,
    score_row,
)
from healthscore.domain.dataset import Dataset, Event, RecordKey
from healthscore.domain.definition import (
    DefinitionError,
    Issue,
    Rule,
    ScoreDefinition,
)
from healthscore.domain.reference_engine import (
    RecordScore,
    check_against_dataset,
    in_scope,
    score,
    score_record,
    with_inputs,
)
from healthscore.domain.validation import parse_definition
from healthscore.domain.values import points_json, utc_day

if TYPE_CHECKING:
    from healthscore.domain.batch_frames import (
        BatchResult,
        Frames,
    )


def read_definition_json(path: Path) -> Any:
    """The JSON in a definition file, or DefinitionError saying why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DefinitionError([Issue("", f"cannot read {path}: {error.strerror}")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DefinitionError(
            [
                Issue(
                    "",
                    f"{path} is not valid JSON: {error.msg} "
                    f"at line {error.lineno} column {error.colno}",
                )
            ]
        ) from None


def load_definition(path: Path) -> ScoreDefinition:
    """A validated definition from a file (DefinitionError lists every problem)."""
    return parse_definition(read_definition_json(path))


def score_dataset(
    definition: ScoreDefinition, dataset: Dataset, as_of: datetime
) -> list[RecordScore]:
    """Every in-scope record's score and breakdown (reference engine), ordered by id."""
    return score(definition, dataset, as_of)


class Engine(StrEnum):
    """Which engine scores a whole dataset; both give byte-identical "scores out"."""

    POLARS = "polars"  # the batch engine: group-bys over frames, for whole portfolios
    REFERENCE = "reference"  # the readable definition of the semantics, record by record


def score_rows(
    definition: ScoreDefinition, folder: Path, as_of: datetime, engine: Engine = Engine.POLARS
) -> list[dict[str, Any]]:
    """ "Scores out" rows for every in-scope record of a dataset folder, by id."""
    if engine is Engine.REFERENCE:
        return [score_row(result) for result in score(definition, read_dataset(folder), as_of)]
    return batch_rows(definition, score_folder(definition, folder, as_of))


def load_frames(folder: Path) -> Frames:
    """A dataset folder as frames for the batch engine (Parquet scanned lazily, JSONL via the
    shared loader). Raises DatasetError naming bad rows."""
    # Imported here: the Lambda functions use this module and never carry Polars.
    from healthscore.adapters.dataset_frames import scan_dataset

    return scan_dataset(folder)


def score_folder(
    definition: ScoreDefinition, folder: Path, as_of: datetime, *, streaming: bool = False
) -> BatchResult:
    """The batch engine over a dataset folder."""
    frames = load_frames(folder)
    from healthscore.domain.batch_engine import score_frames

    return score_frames(definition, frames, as_of, streaming=streaming)


class RecordNotFound(LookupError):
    """No record with that id and the score's object type."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """ "Test a record": its score and breakdown, or why it is out of scope."""

    record_id: str
    object_type: str
    result: RecordScore | None  # None: the record is in none of the score's segments
    segments: tuple[str, ...]


def explain_record(
    definition: ScoreDefinition, dataset: Dataset, record_id: str, as_of: datetime
) -> Explanation:
    dataset = dataset.at(as_of)  # each property as it was that day
    issues = check_against_dataset(definition, dataset)
    if issues:
        raise DefinitionError(issues)
    key = (definition.object_type, record_id)
    if not dataset.has_record(key):
        raise RecordNotFound(
            f"no {definition.object_type} record with id {record_id!r} in the dataset"
        )
    record = dataset.record(key)
    today = utc_day(as_of)
    segments = [dataset.segments[s] for s in definition.segments]
    result = (
        with_inputs(
            definition, dataset, score_record(definition, dataset, record, today, segments), as_of
        )
        if in_scope(record, segments, today)
        else None
    )
    return Explanation(record_id, definition.object_type, result, tuple(s.name for s in segments))


def top_reasons(definition: ScoreDefinition, result: RecordScore, limit: int = 3) -> list[str]:
    """Why a record scores low, in a CSM's words: what subtracts most, then what is missing."""
    # Results follow the definition's order: pair each rule with what it earned.
    negatives = sorted(
        (
            (outcome.hundredths, group.name, rule, outcome)
            for group, group_result in zip(definition.groups, result.groups, strict=True)
            for rule, outcome in zip(group.rules, group_result.rules, strict=True)
            if outcome.hundredths < 0
        ),
        key=lambda item: item[0],
    )
    reasons = []
    for _, group_name, rule, outcome in negatives:
        if rule.frequency is not None:
            what = f"{rule.summary()}: {rule.frequency.describe()}"
        elif rule.target != "self" or rule.event_type:
            what = f"{outcome.matched}× {rule.summary()}"
        elif (by_value := rule.scored_individually_by) is not None and outcome.records:
            shown = " and ".join(str(v) for v in outcome.records[0].matched_values)
            what = f"{by_value.property} is {shown}"
        else:
            what = rule.summary()
        reasons.append(f"{group_name}: {what} ({outcome.points:+g})")
    reasons += shortfalls(definition, [g.hundredths for g in result.groups])
    return reasons[:limit]


def shortfalls(definition: ScoreDefinition, groups: list[int]) -> list[str]:
    """The groups that could earn points but earned less than half of them (hundredths in
    definition order), furthest from their max first: "Engagement: only 5 of 40 points"."""
    short = sorted(
        (
            (hundredths - group.max_points * 100, group, hundredths)
            for group, hundredths in zip(definition.groups, groups, strict=True)
            if any(_can_earn(r) for r in group.rules) and 0 <= hundredths < group.max_points * 50
        ),
        key=lambda item: item[0],
    )
    return [
        f"{group.name}: only {points_json(hundredths):g} of {group.max_points} points"
        for _, group, hundredths in short
    ]


def _can_earn(rule: Rule) -> bool:
    by_value = rule.scored_individually_by
    if by_value is not None:
        return any(points > 0 for points in (by_value.points_by_value or {}).values())
    return (rule.points or 0) > 0


@dataclass(frozen=True, slots=True)
class Overview:
    scored: int
    by_status: list[tuple[str, str, int]]  # label, colour, count — in threshold order
    lowest: list[RecordScore]
    average: float


def at_risk_order(result: RecordScore) -> tuple[int, int, str]:
    """Most at risk first: the lowest score, and among equal scores (many clamp at 0) the most
    negative points before clamping, then the id."""
    return (result.score, sum(g.hundredths for g in result.groups), result.id)


def overview(definition: ScoreDefinition, results: list[RecordScore], lowest: int = 10) -> Overview:
    """The status distribution and the lowest-scored records (most at risk first)."""
    counts = Counter(r.status for r in results)
    by_status = [
        (t.label, t.color, counts.get(t.label, 0)) for t in reversed(definition.thresholds)
    ]
    worst = sorted(results, key=at_risk_order)[:lowest]
    average = sum(r.score for r in results) / len(results) if results else 0.0
    return Overview(len(results), by_status, worst, average)


def load_dataset(path: Path) -> Dataset:
    """A dataset folder (DatasetError names every bad row)."""
    return read_dataset(path)


@dataclass(frozen=True, slots=True)
class DayScore:
    day: date
    score: int | None  # None: out of scope that day
    status: str | None


def record_history(
    definition: ScoreDefinition, dataset: Dataset, record_id: str, days: list[date]
) -> list[DayScore]:
    """One record's score on each day (the reference engine replayed over the event log)."""
    key = (definition.object_type, record_id)
    if not dataset.has_record(key):
        raise RecordNotFound(f"no {definition.object_type} record with id {record_id!r}")
    record = dataset.record(key)
    segments = [dataset.segments[s] for s in definition.segments]
    history = []
    for day in days:
        if in_scope(record, segments, day):
            result = score_record(definition, dataset, record, day, segments)
            history.append(DayScore(day, result.score, result.status))
        else:
            history.append(DayScore(day, None, None))
    return history


def record_events(definition: ScoreDefinition, dataset: Dataset, record_id: str) -> list[Event]:
    """The events that can move a record's score: its own, and (companies score) its
    contacts', of the event types the definition's rules read — oldest first."""
    key: RecordKey = (definition.object_type, record_id)
    types = sorted({r.event_type for _g, r in definition.rules() if r.event_type})
    owners = [key]
    if definition.object_type == "companies":
        owners += [n.record.key for n in dataset.neighbours(key, "contacts")]
    events = [e for owner in owners for t in types for e in dataset.events_of(owner, t)]
    return sorted(events, key=lambda e: (e.occurred_at, e.id))
