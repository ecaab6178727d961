"""Point-in-time properties: `property_changes.jsonl` says what each property was on past days,
and every engine — and so `trend`, `explain` and every replay — scores a day with that day's
values. A hand-checked case: an NPS of 9 that became 3 on 10 June scores lower from that day on
and not before."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healthscore.adapters.dataset_files import DatasetError, read_dataset
from healthscore.cli import app
from healthscore.domain.dataset import Dataset, PropertyChange, Record
from healthscore.domain.validation import parse_definition
from healthscore.services.scoring import Engine, score_rows

DEFINITION = {
    "name": "NPS health",
    "object_type": "companies",
    "segments": ["all"],
    "groups": [
        {
            "name": "NPS",
            "kind": "property",
            "max_points": 50,
            "rules": [
                {
                    "object": "self",
                    "points": 40,
                    "conditions": [{"property": "nps_score", "operator": "gte", "value": 9}],
                },
                {
                    "object": "self",
                    "points": 10,
                    "conditions": [{"property": "tier", "operator": "is_known"}],
                },
            ],
        }
    ],
    "thresholds": [
        {"min": 0, "label": "At-risk", "color": "#d0021b"},
        {"min": 40, "label": "Healthy", "color": "#2e9d5b"},
    ],
}


def _lines(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / "history"
    data.mkdir()
    _lines(
        data / "records.jsonl",  # today's values: NPS 3, a tier set in June
        [
            {"object_type": "companies", "id": "c1", "properties": {"nps_score": 3, "tier": "A"}},
            {"object_type": "companies", "id": "c2", "properties": {"nps_score": 10}},
        ],
    )
    _lines(data / "segments.jsonl", [{"id": "all", "name": "All", "object_type": "companies"}])
    _lines(
        data / "property_changes.jsonl",
        [
            {"object_type": "companies", "id": "c1", "property": "nps_score", "value": 9,
             "changed_at": "2026-01-05T10:00:00Z"},
            {"object_type": "companies", "id": "c1", "property": "nps_score", "value": 3,
             "changed_at": "2026-06-10T16:30:00Z"},
            {"object_type": "companies", "id": "c1", "property": "tier", "value": "A",
             "changed_at": "2026-06-20T09:00:00Z"},
        ],
    )  # fmt: skip
    (data.parent / "definition.json").write_text(json.dumps(DEFINITION))
    return data


@pytest.mark.parametrize("engine", [Engine.REFERENCE, Engine.POLARS])
def test_the_nps_that_fell_in_june_scores_lower_from_that_day_on(
    folder: Path, engine: Engine
) -> None:
    definition = parse_definition(DEFINITION)

    def c1(day: str) -> int:
        moment = datetime.fromisoformat(f"{day}T23:00:00+00:00")
        rows = {r["id"]: r for r in score_rows(definition, folder, moment, engine)}
        return int(rows["c1"]["score"])

    assert c1("2026-06-09") == 40  # NPS 9 then (no tier yet: it has history, none by then)
    assert c1("2026-06-10") == 0  # the day it became 3
    assert c1("2026-06-19") == 0
    assert c1("2026-06-20") == 10  # the tier was set that day
    assert c1("2026-01-04") == 0  # before any NPS: absent
    c2 = {
        r["id"]: r for r in score_rows(definition, folder, datetime(2026, 3, 1, tzinfo=UTC), engine)
    }
    assert c2["c2"]["score"] == 40  # no history: its records.jsonl value on every day


def test_trend_replays_each_day_with_that_days_properties(folder: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["trend", str(folder), "-d", str(folder.parent / "definition.json"), "--as-of",
         "2026-06-24T12:00:00Z", "--every", "7", "--periods", "4", "--format", "jsonl"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    c1 = {row["as_of"]: row["score"] for row in rows if row["id"] == "c1"}
    assert c1 == {"2026-06-03": 40, "2026-06-10": 0, "2026-06-17": 0, "2026-06-24": 10}


def test_a_cleared_value_and_ties_within_an_instant() -> None:
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    record = Record("companies", "c1", {"n": 1})
    changes = [
        PropertyChange("companies", "c1", "n", 5, at, 0),
        PropertyChange("companies", "c1", "n", 7, at, 1),  # same instant, later line: wins
        PropertyChange("companies", "c1", "m", "x", at, 2),
        PropertyChange("companies", "c1", "m", None, at.replace(day=3), 3),  # cleared
    ]
    data = Dataset([record], property_changes=changes)
    assert dict(data.at(at).record(record.key).properties) == {"n": 7, "m": "x"}
    assert dict(data.at(at.replace(day=4)).record(record.key).properties) == {"n": 7}
    assert dict(data.at(at.replace(month=4)).record(record.key).properties) == {}


def test_a_bad_history_line_is_named_with_its_file_line_and_field(tmp_path: Path) -> None:
    _lines(tmp_path / "records.jsonl", [{"object_type": "companies", "id": "c1"}])
    _lines(
        tmp_path / "property_changes.jsonl",
        [
            {"object_type": "companies", "id": "c1", "property": "n", "value": 1,
             "changed_at": "2026-05-01"},
            {"object_type": "companies", "id": "c1", "value": 1,
             "changed_at": "2026-05-01T00:00:00Z"},
            {"object_type": "companies", "id": "c1", "property": "n", "value": [1],
             "changed_at": "2026-05-01T00:00:00Z"},
        ],
    )  # fmt: skip
    with pytest.raises(DatasetError) as raised:
        read_dataset(tmp_path)
    text = str(raised.value)
    for where in (
        "property_changes.jsonl line 1: changed_at:",
        "property_changes.jsonl line 2: property:",
        "property_changes.jsonl line 3: value:",
    ):
        assert where in text, (where, text)
