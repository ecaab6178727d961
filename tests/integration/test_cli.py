"""The CLI, black-box: exit codes, stdout shapes and messages, as a user runs it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from healthscore.cli import app

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
AS_OF = "2026-06-15"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def healthscore(*args: str | Path) -> Run:
    """The CLI in this process, as a user's shell sees it: exit code, stdout, stderr. An
    unexpected exception fails the test (a user would have seen a traceback); the last test
    below runs `python -m healthscore` as a real subprocess."""
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def jsonl(folder: Path, name: str, rows: list[dict]) -> None:
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def small_dataset(tmp_path: Path) -> Path:
    """Three companies (one out of scope), a contact, tickets and events, hand-scored below."""
    folder = tmp_path / "data"
    folder.mkdir()
    jsonl(
        folder,
        "records",
        [
            {
                "object_type": "companies",
                "id": "c2",
                "properties": {"region": "Northeast", "employees": "120"},
            },
            {
                "object_type": "companies",
                "id": "c1",
                "properties": {"region": "West", "employees": 10},
            },
            {
                "object_type": "companies",
                "id": "c3",
                "properties": {"region": "Northeast", "employees": 3},
                "lists": ["excluded"],
            },
            {"object_type": "contacts", "id": "p1", "properties": {"role": "VP"}},
            {"object_type": "tickets", "id": "t1", "properties": {"status": "open"}},
            {"object_type": "tickets", "id": "t2", "properties": {"status": "closed"}},
        ],
    )
    jsonl(
        folder,
        "associations",
        [
            {
                "from_type": "contacts",
                "from_id": "p1",
                "to_type": "companies",
                "to_id": "c2",
                "labels": ["Decision maker"],
            },
            {
                "from_type": "tickets",
                "from_id": "t1",
                "to_type": "companies",
                "to_id": "c2",
                "labels": [],
            },
            {
                "from_type": "tickets",
                "from_id": "t2",
                "to_type": "companies",
                "to_id": "c2",
                "labels": [],
            },
        ],
    )
    jsonl(
        folder,
        "events",
        [
            # c2's decision maker booked a meeting 40 days ago: 10 points at 50% (1 month) = 5
            {
                "id": "e1",
                "type": "meeting_booked",
                "occurred_at": "2026-05-06T10:00:00Z",
                "object_type": "contacts",
                "object_id": "p1",
                "properties": {},
            },
            # c2 opened emails twice in the last 30 days: 1–3 times → 2
            {
                "id": "e2",
                "type": "email_opened",
                "occurred_at": "2026-06-10T10:00:00Z",
                "object_type": "companies",
                "object_id": "c2",
                "properties": {},
            },
            {
                "id": "e3",
                "type": "email_opened",
                "occurred_at": "2026-06-14T22:00:00-03:00",
                "object_type": "companies",
                "object_id": "c2",
                "properties": {},
            },
            # c1: one Newsletter form (1 point) and an email long ago
            {
                "id": "e4",
                "type": "form_submitted",
                "occurred_at": "2026-06-01T10:00:00Z",
                "object_type": "companies",
                "object_id": "c1",
                "properties": {"form_name": "newsletter"},
            },
            {
                "id": "e5",
                "type": "email_opened",
                "occurred_at": "2026-01-01T10:00:00Z",
                "object_type": "companies",
                "object_id": "c1",
                "properties": {},
            },
        ],
    )
    jsonl(
        folder,
        "segments",
        [
            {
                "id": "seg-upmarket",
                "name": "Upmarket",
                "object_type": "companies",
                "conditions": [{"operator": "not_in_list", "value": "excluded"}],
                "lists": [],
            },
        ],
    )
    return folder


# c2: 1:1 Engagement 5 (meeting) ; Email 2 ; Fit: Northeast & 120 > 50 → 10, open ticket → -5 = 5
# total 12 → At-risk. c1: form "newsletter" → 1 ; email 0 ; fit 0 → 1.
EXPECTED = [
    {
        "object_type": "companies",
        "id": "c1",
        "score": 1,
        "status": "At-risk",
        "color": "#d64545",
        "groups": {"1:1 Engagement": 1, "Email engagement": 0, "Fit and sentiment": 0},
    },
    {
        "object_type": "companies",
        "id": "c2",
        "score": 12,
        "status": "At-risk",
        "color": "#d64545",
        "groups": {"1:1 Engagement": 5, "Email engagement": 2, "Fit and sentiment": 5},
    },
]


def test_score_prints_exactly_the_scores_out_lines_in_id_order(small_dataset):
    run = healthscore(
        "score",
        small_dataset,
        "--definition",
        EXAMPLES / "upmarket-health-score.json",
        "--as-of",
        AS_OF,
    )
    assert run.returncode == 0, run.stderr
    assert [json.loads(line) for line in run.stdout.splitlines()] == EXPECTED


def test_group_totals_are_numbers_with_at_most_two_decimals(small_dataset):
    definition = json.loads((EXAMPLES / "upmarket-health-score.json").read_text())
    definition["groups"][0]["decay"] = {"percent": 15, "every": {"value": 1, "unit": "months"}}
    path = small_dataset / "def.json"
    path.write_text(json.dumps(definition))
    run = healthscore("score", small_dataset, "-d", path, "--as-of", AS_OF, "--format", "jsonl")
    c2 = json.loads(run.stdout.splitlines()[1])
    assert c2["groups"]["1:1 Engagement"] == 8.5  # 10 points at 85%
    assert '"1:1 Engagement": 8.5' in run.stdout.splitlines()[1]


def test_csv_table_and_parquet_outputs(small_dataset, tmp_path):
    definition = EXAMPLES / "upmarket-health-score.json"
    as_csv = healthscore(
        "score", small_dataset, "-d", definition, "--as-of", AS_OF, "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["id"], int(r["score"]), json.loads(r["groups"])) for r in rows] == [
        (e["id"], e["score"], e["groups"]) for e in EXPECTED
    ]
    table = healthscore(
        "score", small_dataset, "-d", definition, "--as-of", AS_OF, "--format", "table"
    )
    assert "c2" in table.stdout
    assert "At-risk" in table.stdout
    out = tmp_path / "scores.parquet"
    parquet = healthscore(
        "score",
        small_dataset,
        "-d",
        definition,
        "--as-of",
        AS_OF,
        "--format",
        "parquet",
        "--output",
        out,
    )
    assert parquet.returncode == 0, parquet.stderr
    frame = pl.read_parquet(out)
    assert frame["id"].to_list() == ["c1", "c2"]
    assert frame["groups"].struct.field("Fit and sentiment").to_list() == [0, 5]


def test_jsonl_to_a_file_leaves_stdout_empty(small_dataset, tmp_path):
    out = tmp_path / "scores.jsonl"
    run = healthscore(
        "score",
        small_dataset,
        "-d",
        EXAMPLES / "upmarket-health-score.json",
        "--as-of",
        AS_OF,
        "-o",
        out,
    )
    assert (run.returncode, run.stdout) == (0, "")
    assert [json.loads(line) for line in out.read_text().splitlines()] == EXPECTED


def test_validate_accepts_a_valid_definition_with_a_summary():
    run = healthscore("validate", EXAMPLES / "upmarket-health-score.json")
    assert run.returncode == 0
    assert "Upmarket health score" in run.stdout
    assert "3 groups, 6 rules" in run.stdout


def test_validate_refuses_with_exit_2_and_every_path(tmp_path):
    definition = json.loads((EXAMPLES / "upmarket-health-score.json").read_text())
    definition["groups"][0]["rules"][1]["timeframe"] = {"value": 7, "unit": "days"}
    definition["thresholds"][0]["min"] = 5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(definition))
    run = healthscore("validate", path)
    assert run.returncode == 2
    assert "groups[0].rules[1].timeframe" in run.stdout
    assert "decays" in run.stdout
    assert "thresholds[0].min" in run.stdout
    as_json = healthscore("validate", path, "--json")
    verdict = json.loads(as_json.stdout)
    assert as_json.returncode == 2
    assert verdict["valid"] is False
    assert {e["path"] for e in verdict["errors"]} == {
        "groups[0].rules[1].timeframe",
        "thresholds[0].min",
    }


@pytest.mark.parametrize(
    ("content", "words"), [("{not json", "not valid JSON"), (None, "cannot read")]
)
def test_validate_unreadable_files_exit_2(tmp_path, content, words):
    path = tmp_path / "def.json"
    if content is not None:
        path.write_text(content)
    run = healthscore("validate", path)
    assert run.returncode == 2
    assert words in run.stdout


def test_score_refuses_invalid_definitions_unknown_segments_and_bad_input_with_exit_2(
    small_dataset, tmp_path
):
    definition = json.loads((EXAMPLES / "upmarket-health-score.json").read_text())
    definition["segments"] = ["seg-nope"]
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps(definition))
    run = healthscore("score", small_dataset, "-d", unknown, "--as-of", AS_OF)
    assert (run.returncode, run.stdout) == (2, "")
    assert "segments[0]" in run.stderr
    assert "seg-nope" in run.stderr

    definition["segments"] = ["seg-upmarket"]
    definition["groups"][0]["max_points"] = 0
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps(definition))
    run = healthscore("score", small_dataset, "-d", invalid, "--as-of", AS_OF)
    assert (run.returncode, run.stdout) == (2, "")
    assert "groups[0].max_points" in run.stderr

    run = healthscore(
        "score",
        small_dataset,
        "-d",
        EXAMPLES / "upmarket-health-score.json",
        "--as-of",
        "June 15th",
    )
    assert run.returncode == 2
    assert "--as-of" in run.stderr

    no_zone = {
        "id": "e1",
        "type": "x",
        "occurred_at": "2026-01-01T00:00:00",
        "object_type": "contacts",
        "object_id": "p",
    }
    jsonl(small_dataset, "events", [no_zone])
    run = healthscore("score", small_dataset, "-d", EXAMPLES / "upmarket-health-score.json")
    assert run.returncode == 2
    assert "events.jsonl line 1: occurred_at" in run.stderr
    assert "Traceback" not in run.stderr


def test_explain_shows_the_breakdown_or_why_a_record_has_no_score(small_dataset):
    definition = EXAMPLES / "upmarket-health-score.json"
    run = healthscore(
        "explain", small_dataset, "-d", definition, "--record", "c2", "--as-of", AS_OF
    )
    assert run.returncode == 0, run.stderr
    for text in (
        "12",
        "At-risk",
        "1:1 Engagement",
        "1 decayed (10 points before decay)",
        "Fit and sentiment",
        "frequency met",
        "— holds",
        "1 record counted",
    ):
        assert text in run.stdout, text
    # each rule line reads "its points — what it found → what it earned": never "+0 -10 each"
    import re

    assert not re.search(r"[+-]\d+(\.\d+)? [+-]\d", run.stdout), run.stdout
    assert re.search(r"— .* → [+-]?\d", run.stdout)
    outside = healthscore(
        "explain", small_dataset, "-d", definition, "--record", "c3", "--as-of", AS_OF
    )
    assert outside.returncode == 1
    assert "none of the score's segments" in outside.stdout
    missing = healthscore(
        "explain", small_dataset, "-d", definition, "--record", "zz", "--as-of", AS_OF
    )
    assert missing.returncode == 2
    assert "zz" in missing.stderr


def test_explain_compares_with_the_score_a_window_before(small_dataset):
    definition = EXAMPLES / "upmarket-health-score.json"
    then = healthscore("score", small_dataset, "-d", definition, "--as-of", "2026-03-17")
    now = healthscore("score", small_dataset, "-d", definition, "--as-of", AS_OF)
    before = {r["id"]: r for r in map(json.loads, then.stdout.splitlines())}["c2"]
    after = {r["id"]: r for r in map(json.loads, now.stdout.splitlines())}["c2"]
    assert before["score"] != after["score"]  # the events decayed or left their timeframe
    run = healthscore(
        "explain", small_dataset, "-d", definition, "-r", "c2", "--as-of", AS_OF,
        "--compare", "90d",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    change = after["score"] - before["score"]
    way = "up" if change > 0 else "down"
    assert (
        f"90 days before (2026-03-17): {before['score']} {before['status']} → now "
        f"{after['score']} {after['status']}: {way} {abs(change)}"
    ) in run.stdout
    refused = healthscore("explain", small_dataset, "-d", definition, "-r", "c2", "--compare", "3w")
    assert refused.returncode == 2
    assert "--compare '3w'" in refused.stderr


def test_templates_list_and_print_and_new_builds_a_valid_definition(tmp_path):
    listing = healthscore("templates")
    for name in (
        "1:1 Engagement",
        "1:1 Call Engagement",
        "Support Tickets",
        "CSM Sentiment",
        "NPS",
    ):
        assert name in listing.stdout
    nps = healthscore("templates", "nps")
    assert json.loads(nps.stdout)["name"] == "NPS"
    assert healthscore("templates", "Vibes").returncode == 2
    path = tmp_path / "new.json"
    made = healthscore(
        "new",
        path,
        "--name",
        "Support health",
        "--segment",
        "seg-all-companies",
        "--group",
        "Support Tickets",
        "--group",
        "NPS",
    )
    assert made.returncode == 0, made.stderr
    assert [g["name"] for g in json.loads(path.read_text())["groups"]] == ["Support Tickets", "NPS"]
    assert healthscore("validate", path).returncode == 0
    assert healthscore("new", path).returncode == 2  # exists: no silent overwrite


@pytest.mark.parametrize(
    "companies",
    [pytest.param(300, id="300"), pytest.param(10_000, id="10000", marks=pytest.mark.soak)],
)
def test_sample_data_overview_and_a_portfolio_score(tmp_path, companies):
    folder = tmp_path / "portfolio"
    made = healthscore(
        "sample-data", folder, "--companies", str(companies), "--seed", "5", "--until", AS_OF
    )
    assert made.returncode == 0, made.stderr
    run = healthscore(
        "score", folder, "-d", EXAMPLES / "customer-health-score.json", "--as-of", AS_OF
    )
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(rows) == companies
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    statuses = {r["status"] for r in rows}
    assert statuses == {"At-risk", "Neutral", "Healthy"}
    overview = healthscore(
        "overview",
        folder,
        "-d",
        EXAMPLES / "customer-health-score.json",
        "--as-of",
        AS_OF,
        "--top",
        "3",
    )
    assert overview.returncode == 0
    assert f"{companies:,} companies scored" in overview.stdout
    assert "most at-risk" in overview.stdout


def test_webhook_send_names_a_missing_batch_file_without_a_traceback(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "healthscore", "webhook", "send", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "does not exist" in run.stderr
    assert "Traceback" not in run.stderr
