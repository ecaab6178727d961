"""Reading a portable dataset folder (docs/decisions.md, Datasets): JSONL files, or Parquet
with the same columns.

Every bad row is reported with its file, line and field, and nothing half-read is returned:
either the whole dataset loads or `DatasetError` lists what to fix (the first 50 problems).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from healthscore.domain.condition_checks import check_conditions
from healthscore.domain.conditions import Condition
from healthscore.domain.dataset import (
    AssociationLine,
    Dataset,
    Event,
    PropertyChange,
    Record,
    Segment,
)
from healthscore.domain.definition import is_record_object_type
from healthscore.domain.overrides import MAX_DAYS_AHEAD, MAX_REASON, Override
from healthscore.domain.values import parse_instant

FILES = ("records", "associations", "events", "segments")
HISTORY = "property_changes"  # optional: what each property was on past days
OVERRIDES = "overrides"  # optional: statuses set by hand, with a reason and an expiry
MAX_REPORTED = 50
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RowProblem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class DatasetError(ValueError):
    """The dataset folder cannot be read as it is; `problems` says where and why."""

    def __init__(self, problems: list[RowProblem] | str) -> None:
        self.problems = problems if isinstance(problems, list) else []
        text = problems if isinstance(problems, str) else "\n".join(str(p) for p in problems)
        super().__init__(text)


class RowError(ValueError):
    """One field of one row (or request item) is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def read_dataset(folder: Path | str) -> Dataset:
    """Load a dataset folder. Raises DatasetError naming every bad row (up to 50)."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(
            f"{root}: not a folder (a dataset is a folder of {', '.join(FILES)} files)"
        )
    sources = {name: _find(root, name) for name in FILES}
    if all(path is None for path in sources.values()):
        raise DatasetError(
            f"{root}: no records.jsonl, associations.jsonl, events.jsonl or segments.jsonl"
        )
    problems: list[RowProblem] = []
    records = _parse_all(sources["records"], parse_record, problems)
    associations = _parse_all(sources["associations"], parse_association, problems)
    events = _parse_all(sources["events"], parse_event, problems)
    segments = _parse_all(sources["segments"], parse_segment, problems)
    history = _find(root, HISTORY)
    changes = [
        replace(change, line=number)
        for number, change in enumerate(_parse_all(history, parse_property_change, problems))
    ]
    overrides = read_overrides(root, problems)
    if problems:
        raise DatasetError(problems[:MAX_REPORTED])
    return Dataset(records, associations, events, segments, changes, overrides)


def read_overrides(root: Path, problems: list[RowProblem]) -> list[Override]:
    """`overrides.jsonl` (or .parquet) of a dataset folder, each line numbered in file order."""
    return [
        replace(override, line=number)
        for number, override in enumerate(
            _parse_all(_find(root, OVERRIDES), parse_override, problems)
        )
    ]


def _find(root: Path, name: str) -> Path | None:
    for suffix in (".jsonl", ".parquet"):
        path = root / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def _parse_all(path: Path | None, parse: Callable[[Any], T], problems: list[RowProblem]) -> list[T]:
    if path is None:
        return []
    parsed: list[T] = []
    for line, row in _rows(path, problems):
        try:
            parsed.append(parse(row))
        except RowError as error:
            problems.append(RowProblem(path.name, line, error.field, error.message))
        if len(problems) >= MAX_REPORTED:
            break
    return parsed


def _rows(path: Path, problems: list[RowProblem]) -> Iterator[tuple[int, Any]]:
    if path.suffix == ".parquet":
        yield from _parquet_rows(path)
        return
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError as error:
                problems.append(RowProblem(path.name, number, "", f"not valid JSON ({error.msg})"))


def _parquet_rows(path: Path) -> Iterator[tuple[int, Any]]:
    import polars as pl  # only Parquet datasets need Polars

    for number, row in enumerate(pl.read_parquet(path).iter_rows(named=True), start=1):
        for column in ("properties", "conditions"):
            # Nested columns may arrive as JSON text; structs leave absent keys as nulls.
            if isinstance(row.get(column), str):
                row[column] = json.loads(row[column])
        if isinstance(row.get("properties"), dict):
            row["properties"] = {k: v for k, v in row["properties"].items() if v is not None}
        yield number, row


# ---------------------------------------------------------------------------------------------
# One row each


def _require_object(row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise RowError("", "each line must be a JSON object")
    return row


def _id(row: dict[str, Any], field: str) -> str:
    value = row.get(field)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise RowError(field, "is required: a non-empty string (or integer) id")
    return str(value)


def _object_type(row: dict[str, Any], field: str) -> str:
    value = row.get(field)
    if not isinstance(value, str) or not is_record_object_type(value):
        raise RowError(
            field, f"{value!r} must be companies, contacts, deals, tickets or custom:<name>"
        )
    return value


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _properties(row: dict[str, Any]) -> dict[str, Any]:
    value = row.get("properties") or {}
    if not isinstance(value, dict):
        raise RowError("properties", "must be an object of name → value")
    for name, item in value.items():
        if not (_scalar(item) or (isinstance(item, list) and all(_scalar(e) for e in item))):
            raise RowError(f"properties.{name}", "must be a scalar or a list of scalars")
    return value


def _string_list(row: dict[str, Any], field: str) -> list[str]:
    value = row.get(field) or []
    if not isinstance(value, list) or not all(
        isinstance(e, str | int) and not isinstance(e, bool) for e in value
    ):
        raise RowError(field, "must be a list of strings")
    return [str(e) for e in value]


def parse_record(raw: Any) -> Record:
    row = _require_object(raw)
    return Record(
        object_type=_object_type(row, "object_type"),
        id=_id(row, "id"),
        properties=_properties(row),
        lists=frozenset(_string_list(row, "lists")),
    )


def parse_association(raw: Any) -> AssociationLine:
    row = _require_object(raw)
    return AssociationLine(
        from_type=_object_type(row, "from_type"),
        from_id=_id(row, "from_id"),
        to_type=_object_type(row, "to_type"),
        to_id=_id(row, "to_id"),
        labels=tuple(_string_list(row, "labels")),
    )


def parse_event(raw: Any) -> Event:
    row = _require_object(raw)
    event_type = row.get("type")
    if not isinstance(event_type, str) or not event_type.strip():
        raise RowError("type", "is required: the event type, e.g. meeting_booked")
    moment = _instant(row, "occurred_at")
    return Event(
        id=_id(row, "id"),
        type=event_type,
        occurred_at=moment,
        object_type=_object_type(row, "object_type"),
        object_id=_id(row, "object_id"),
        properties=_properties(row),
    )


def parse_property_change(raw: Any) -> PropertyChange:
    """`{"object_type", "id", "property", "value", "changed_at"}` (`value` null: cleared)."""
    row = _require_object(raw)
    name = row.get("property")
    if not isinstance(name, str) or not name.strip():
        raise RowError("property", "is required: the property's name, e.g. nps_score")
    if "value" not in row:
        raise RowError("value", "is required: the value it was set to, or null if cleared")
    value = row["value"]
    if value is not None and not _scalar(value):
        raise RowError("value", "must be a string, number, boolean or null")
    moment = _instant(row, "changed_at")
    return PropertyChange(_object_type(row, "object_type"), _id(row, "id"), name, value, moment)


def parse_override(raw: Any) -> Override:
    """`{"object_type","id","definition","status","score","reason","set_by","set_at",
    "expires_at"}`: `definition` is the score's id or name, `score` may be left out."""
    row = _require_object(raw)
    texts = {}
    for field, what in (
        ("definition", "the health score's id or name"),
        ("status", "the status it is set to, one of the score's"),
        ("reason", f"why, 1 to {MAX_REASON} characters"),
        ("set_by", "who set it"),
    ):
        value = row.get(field)
        if not isinstance(value, str) or not value.strip():
            raise RowError(field, f"is required: {what}")
        texts[field] = value
    if len(texts["reason"]) > MAX_REASON:
        raise RowError("reason", f"must be at most {MAX_REASON} characters")
    score = row.get("score")
    if score is not None and (
        isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100
    ):
        raise RowError("score", "must be an integer from 0 to 100, or null")
    set_at, expires_at = _instant(row, "set_at"), _instant(row, "expires_at")
    if expires_at <= set_at:
        raise RowError("expires_at", "must be after set_at")
    if expires_at - set_at > timedelta(days=MAX_DAYS_AHEAD):
        raise RowError("expires_at", f"must be at most {MAX_DAYS_AHEAD} days after set_at")
    return Override(
        status=texts["status"],
        reason=texts["reason"],
        set_by=texts["set_by"],
        set_at=set_at,
        expires_at=expires_at,
        score=score,
        object_type=_object_type(row, "object_type"),
        id=_id(row, "id"),
        definition=texts["definition"],
    )


def override_row(override: Override) -> dict[str, Any]:
    """An override as a line of overrides.jsonl (what `parse_override` reads back)."""
    return {
        "object_type": override.object_type,
        "id": override.id,
        "definition": override.definition,
        **override.to_json(),
    }


def _instant(row: dict[str, Any], field: str) -> datetime:
    text = row.get(field)
    moment = parse_instant(text)
    if moment is None:
        raise RowError(
            field,
            f"{text!r} must be ISO-8601 with an offset (e.g. 2026-03-01T09:30:00Z) "
            "or epoch milliseconds; an instant without a zone is ambiguous",
        )
    return moment


def event_row(event: Event) -> dict[str, Any]:
    """An event as a line of events.jsonl (what `parse_event` reads back)."""
    return {
        "id": event.id,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "object_type": event.object_type,
        "object_id": event.object_id,
        "properties": dict(event.properties),
    }


def parse_segment(raw: Any) -> Segment:
    row = _require_object(raw)
    conditions_raw = row.get("conditions") or []
    issues = check_conditions(conditions_raw, "conditions")
    if issues:
        raise RowError(issues[0].path, issues[0].message)
    name = row.get("name")
    return Segment(
        id=_id(row, "id"),
        name=name if isinstance(name, str) and name.strip() else _id(row, "id"),
        object_type=_object_type(row, "object_type"),
        conditions=tuple(Condition.model_validate(c) for c in conditions_raw),
        lists=tuple(_string_list(row, "lists")),
    )
