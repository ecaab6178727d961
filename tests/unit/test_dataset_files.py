"""Reading portable datasets: JSONL and Parquet, and clear errors for bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from healthscore.adapters.dataset_files import DatasetError, read_dataset


def write_jsonl(folder: Path, name: str, rows: list[object]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_reads_all_four_files(tmp_path):
    write_jsonl(
        tmp_path,
        "records",
        [
            {
                "object_type": "companies",
                "id": "c1",
                "properties": {"region": "West"},
                "lists": ["l1"],
            },
            {"object_type": "contacts", "id": 7, "properties": {}},
        ],
    )
    write_jsonl(
        tmp_path,
        "associations",
        [
            {
                "from_type": "contacts",
                "from_id": "7",
                "to_type": "companies",
                "to_id": "c1",
                "labels": ["Champion"],
            },
        ],
    )
    write_jsonl(
        tmp_path,
        "events",
        [
            {
                "id": "e1",
                "type": "meeting_booked",
                "occurred_at": "2026-06-01T23:30:00-02:00",
                "object_type": "contacts",
                "object_id": "7",
                "properties": {},
            },
            {
                "id": "e2",
                "type": "email_opened",
                "occurred_at": 1767225600000,
                "object_type": "companies",
                "object_id": "c1",
            },
        ],
    )
    write_jsonl(
        tmp_path,
        "segments",
        [
            {
                "id": "seg",
                "name": "West",
                "object_type": "companies",
                "conditions": [{"property": "region", "operator": "eq_any", "values": ["west"]}],
            },
        ],
    )
    data = read_dataset(tmp_path)
    company = data.record(("companies", "c1"))
    assert company.lists == frozenset({"l1"})
    neighbours = data.neighbours(company.key, "contacts")
    assert [(n.record.id, n.labels) for n in neighbours] == [("7", frozenset({"Champion"}))]
    [booked] = data.events_of(("contacts", "7"), "meeting_booked")
    assert booked.day.isoformat() == "2026-06-02"  # 23:30 at -02:00 is the next UTC day
    assert data.segments["seg"].conditions[0].values == ["west"]


@pytest.mark.parametrize(
    ("name", "row", "expected"),
    [
        (
            "events",
            {
                "id": "e1",
                "type": "x",
                "occurred_at": "2026-06-01T10:00:00",
                "object_type": "contacts",
                "object_id": "p1",
            },
            "events.jsonl line 2: occurred_at",
        ),
        (
            "events",
            {
                "id": "e1",
                "occurred_at": "2026-06-01T10:00:00Z",
                "object_type": "contacts",
                "object_id": "p1",
            },
            "events.jsonl line 2: type",
        ),
        ("records", {"object_type": "planets", "id": "x"}, "records.jsonl line 2: object_type"),
        ("records", {"object_type": "companies"}, "records.jsonl line 2: id"),
        (
            "records",
            {"object_type": "companies", "id": "c", "properties": {"a": {"b": 1}}},
            "records.jsonl line 2: properties.a",
        ),
        (
            "records",
            {"object_type": "companies", "id": "c", "lists": "l1"},
            "records.jsonl line 2: lists",
        ),
        (
            "associations",
            {"from_type": "companies", "from_id": "c", "to_type": "contacts"},
            "associations.jsonl line 2: to_id",
        ),
        (
            "segments",
            {
                "id": "s",
                "object_type": "companies",
                "conditions": [{"property": "x", "operator": "gt", "value": "big"}],
            },
            "segments.jsonl line 2: conditions[0].value",
        ),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, name, row, expected):
    good = {
        "events": {
            "id": "e0",
            "type": "x",
            "occurred_at": "2026-06-01T10:00:00Z",
            "object_type": "contacts",
            "object_id": "p1",
        },
        "records": {"object_type": "companies", "id": "c0"},
        "associations": {
            "from_type": "companies",
            "from_id": "c",
            "to_type": "contacts",
            "to_id": "p",
        },
        "segments": {"id": "s0", "object_type": "companies"},
    }[name]
    write_jsonl(tmp_path, name, [good, row])
    with pytest.raises(DatasetError) as error:
        read_dataset(tmp_path)
    assert str(error.value).startswith(expected)


def test_invalid_json_and_every_problem_reported(tmp_path):
    (tmp_path / "records.jsonl").write_text(
        '{"object_type": "companies", "id": "c1"}\n{oops\n\n[1]\n'
    )
    with pytest.raises(DatasetError) as error:
        read_dataset(tmp_path)
    lines = str(error.value).splitlines()
    assert lines[0].startswith("records.jsonl line 2: not valid JSON")
    assert lines[1] == "records.jsonl line 4: each line must be a JSON object"


def test_a_folder_without_dataset_files_is_refused(tmp_path):
    with pytest.raises(DatasetError, match=r"no records\.jsonl"):
        read_dataset(tmp_path)
    with pytest.raises(DatasetError, match="not a folder"):
        read_dataset(tmp_path / "missing")


def test_parquet_files_with_the_same_columns(tmp_path):
    pl.DataFrame(
        [
            {
                "object_type": "companies",
                "id": "c1",
                "properties": {"region": "West", "employees": None},
                "lists": ["l1"],
            },
            {
                "object_type": "companies",
                "id": "c2",
                "properties": {"region": None, "employees": 9},
                "lists": [],
            },
        ]
    ).write_parquet(tmp_path / "records.parquet")
    pl.DataFrame(
        [
            {
                "id": "e1",
                "type": "meeting_booked",
                "occurred_at": "2026-06-01T10:00:00Z",
                "object_type": "companies",
                "object_id": "c1",
                "properties": json.dumps({"meeting_type": "QBR"}),
            }
        ]
    ).write_parquet(tmp_path / "events.parquet")
    data = read_dataset(tmp_path)
    assert data.record(("companies", "c1")).properties == {"region": "West"}
    assert data.record(("companies", "c2")).properties == {"employees": 9}
    [booked] = data.events_of(("companies", "c1"), "meeting_booked")
    assert booked.properties == {"meeting_type": "QBR"}


OVERRIDE = {
    "object_type": "companies",
    "id": "c0",
    "definition": "Customer health score",
    "status": "At-risk",
    "reason": "Champion left",
    "set_by": "ann@example.com",
    "set_at": "2026-06-01T09:00:00Z",
    "expires_at": "2026-06-30T09:00:00Z",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"set_by": None}, "set_by"),
        ({"score": 101}, "score"),
        ({"score": True}, "score"),
        ({"expires_at": "2026-05-01T09:00:00Z"}, "expires_at"),
        ({"expires_at": "2027-07-01T09:00:00Z"}, "expires_at"),
        ({"set_at": "2026-06-01T09:00:00"}, "set_at"),
        ({"definition": ""}, "definition"),
        ({"object_type": "planets"}, "object_type"),
    ],
)
def test_a_bad_override_line_names_its_line_and_field(tmp_path, change, field):
    write_jsonl(tmp_path, "records", [{"object_type": "companies", "id": "c0"}])
    write_jsonl(tmp_path, "overrides", [OVERRIDE, {**OVERRIDE, **change}])
    with pytest.raises(DatasetError) as error:
        read_dataset(tmp_path)
    assert str(error.value).startswith(f"overrides.jsonl line 2: {field}"), str(error.value)


def test_overrides_are_read_in_file_order(tmp_path):
    write_jsonl(tmp_path, "records", [{"object_type": "companies", "id": "c0"}])
    write_jsonl(tmp_path, "overrides", [OVERRIDE, {**OVERRIDE, "status": "Healthy", "score": 80}])
    data = read_dataset(tmp_path)
    assert [(o.status, o.score, o.line) for o in data.overrides] == [
        ("At-risk", None, 0),
        ("Healthy", 80, 1),
    ]


def test_property_changes_and_overrides_as_parquet(tmp_path):
    """The same columns as the JSONL files, in Parquet: both engines read them alike."""
    from datetime import UTC, datetime

    from healthscore.adapters.dataset_frames import scan_dataset
    from healthscore.domain.batch_engine import score_frames
    from healthscore.domain.reference_engine import score
    from healthscore.domain.validation import parse_definition
    from tests.builders import raw_property_score, self_rule

    records = [{"object_type": "companies", "id": "c1", "properties": {"nps_score": 3}}]
    write_jsonl(tmp_path, "records", records)
    write_jsonl(tmp_path, "segments", [{"id": "all", "object_type": "companies"}])
    pl.DataFrame(
        [
            {"object_type": "companies", "id": "c1", "property": "nps_score", "value": "9",
             "changed_at": "2026-01-10T09:00:00Z"},
            {"object_type": "companies", "id": "c1", "property": "nps_score", "value": "3",
             "changed_at": "2026-06-10T09:00:00Z"},
        ]
    ).write_parquet(tmp_path / "property_changes.parquet")  # fmt: skip
    override = {**OVERRIDE, "id": "c1", "definition": "NPS", "status": "Healthy"}
    pl.DataFrame([override]).write_parquet(tmp_path / "overrides.parquet")
    definition = parse_definition(
        raw_property_score("NPS", ["all"], self_rule("nps_score", "gte", 9, 50), max_points=50)
    )
    data = read_dataset(tmp_path)
    assert [o.status for o in data.overrides] == ["Healthy"]
    cases = {
        datetime(2026, 1, 15, tzinfo=UTC): (50, "Healthy", None),  # NPS 9 then
        datetime(2026, 6, 12, tzinfo=UTC): (0, "Healthy", "At-risk"),  # NPS 3, overridden
        datetime(2026, 7, 5, tzinfo=UTC): (0, "At-risk", None),  # the override has ended
    }
    frames = scan_dataset(tmp_path)
    for as_of, expected in cases.items():
        [result] = score(definition, data, as_of)
        assert (result.score, result.status, result.computed_status) == expected, as_of
        [row] = score_frames(definition, frames, as_of).frame.to_dicts()
        assert (row["score"], row["status"], row["computed_status"]) == expected, as_of
