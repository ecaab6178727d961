"""The batch engine through the CLI: byte-identical to the reference, and the analytics commands."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from healthscore.adapters.dataset_frames import scan_dataset
from healthscore.dev.bulk_portfolio import generate_bulk_portfolio, write_with_repeats
from tests.integration.test_cli import AS_OF, EXAMPLES, healthscore

DEFINITIONS = [
    EXAMPLES / "customer-health-score.json",
    EXAMPLES / "champion-engagement.json",
    EXAMPLES / "onboarding-health.json",
    EXAMPLES / "portfolio-benchmark.json",
]
SAMPLE_COMPANIES = 2000  # the analytics below: enough for the onboarding segment to hold 40+
IDENTITY_COMPANIES = 800  # the engines' byte-identity: the reference engine is the slow one


@pytest.fixture(scope="module")
def sample_portfolio(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sample") / "portfolio"
    made = healthscore(
        "sample-data", folder, "--companies", str(SAMPLE_COMPANIES), "--seed", "9", "--until", AS_OF
    )
    assert made.returncode == 0, made.stderr
    return folder


@pytest.fixture(scope="module")
def identity_portfolio(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("identity") / "portfolio"
    made = healthscore(
        "sample-data",
        folder,
        "--companies",
        str(IDENTITY_COMPANIES),
        "--seed",
        "9",
        "--until",
        AS_OF,
    )
    assert made.returncode == 0, made.stderr
    return folder


@pytest.fixture(scope="module")
def bulk_portfolio(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bulk") / "portfolio"
    generate_bulk_portfolio(folder, 3000, seed=3, until=date(2026, 6, 15))
    return folder


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda p: p.stem)
def test_polars_and_reference_print_byte_identical_scores(request, definition):
    # Given a sample portfolio (JSONL) — the onboarding segment needs the big one to hold 40+
    # companies of varied scores — When scored by both engines
    big = definition.stem == "onboarding-health"
    identity_portfolio = request.getfixturevalue(
        "sample_portfolio" if big else "identity_portfolio"
    )
    runs = {
        engine: healthscore(
            "score",
            identity_portfolio,
            "-d",
            definition,
            "--as-of",
            "2026-06-15T18:00:00Z",
            "--engine",
            engine,
        )
        for engine in ("polars", "reference")
    }
    # Then the outputs are the same bytes, and not trivially so
    for run in runs.values():
        assert run.returncode == 0, run.stderr
    assert runs["polars"].stdout == runs["reference"].stdout
    lines = runs["polars"].stdout.splitlines()
    assert len(lines) >= 40
    assert len({json.loads(line)["score"] for line in lines}) > 5


def _benchmark_scores(folder: Path, engine: str) -> str:
    run = healthscore(
        "score",
        folder,
        "-d",
        EXAMPLES / "portfolio-benchmark.json",
        "--as-of",
        "2026-06-15T18:00:00Z",
        "--engine",
        engine,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_typed_parquet_is_scored_like_the_reference_reads_it(bulk_portfolio):
    # Given a Parquet portfolio with typed property columns (scanned lazily by Polars; read
    # row by row by the reference loader)
    polars = _benchmark_scores(bulk_portfolio, "polars")
    assert polars == _benchmark_scores(bulk_portfolio, "reference")
    assert len(polars.splitlines()) == 3000


def test_typed_parquet_with_repeated_lines_is_scored_like_the_reference(bulk_portfolio, tmp_path):
    # Given the portfolio again with repeated lines of every kind: some companies again with
    # another NPS answer (the last line wins), some events again (the first wins) and some
    # meetings preceded by a page visit with the same key (that first line wins: no meeting),
    # some contact links again with another label (a pair's labels are the union)
    repeats = tmp_path / "repeats"
    write_with_repeats(bulk_portfolio, repeats, every=7, shadow_every=3)
    # (the loader sees the repeats: the engine does not skip its own search for them)
    assert scan_dataset(bulk_portfolio).distinct_ids == {"records", "events"}
    assert scan_dataset(repeats).distinct_ids == frozenset()

    # Then both engines print the same scores, and the repeats changed some of them
    polars = _benchmark_scores(repeats, "polars")
    assert polars == _benchmark_scores(repeats, "reference")
    plain = _benchmark_scores(bulk_portfolio, "polars").splitlines()
    changed = sum(a != b for a, b in zip(plain, polars.splitlines(), strict=True))
    assert changed > 100


def test_a_bad_parquet_row_is_refused_with_file_line_and_field(bulk_portfolio, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("records", "associations", "segments"):
        (broken / f"{name}.parquet").write_bytes((bulk_portfolio / f"{name}.parquet").read_bytes())
    events = pl.read_parquet(bulk_portfolio / "events.parquet").head(10)
    events = events.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(None)
        .otherwise(pl.col("object_id"))
        .alias("object_id")
    )
    events.write_parquet(broken / "events.parquet")
    run = healthscore("score", broken, "-d", EXAMPLES / "portfolio-benchmark.json")
    assert run.returncode == 2
    assert "events.parquet line 4: object_id" in run.stderr
    assert "Traceback" not in run.stderr


def test_preview_whatif_trend_and_report(sample_portfolio, tmp_path):
    live = EXAMPLES / "customer-health-score.json"
    when = ("--as-of", "2026-06-15T18:00:00Z")
    # preview: every scored record lands in one bin and one status
    preview = healthscore("preview", sample_portfolio, "-d", live, *when, "--json")
    assert preview.returncode == 0, preview.stderr
    figures = json.loads(preview.stdout)
    assert figures["scored"] == SAMPLE_COMPANIES
    assert sum(b["count"] for b in figures["bins"]) == SAMPLE_COMPANIES
    assert sum(s["count"] for s in figures["statuses"]) == SAMPLE_COMPANIES
    # what-if: a lower "Healthy" threshold moves some Neutral records to Healthy, nothing else
    raw = json.loads(live.read_text())
    raw["thresholds"][2]["min"] = 60
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(raw))
    whatif = healthscore(
        "whatif", sample_portfolio, "--live", live, "--draft", draft, *when, "--json"
    )
    assert whatif.returncode == 0, whatif.stderr
    change = json.loads(whatif.stdout)
    assert change["changed_status"] > 0
    assert change["changed_score"] == 0
    assert {(t["status_live"], t["status_draft"]) for t in change["transitions"]} == {
        ("Neutral", "Healthy")
    }
    # trend: one row per record per as-of day
    trend = healthscore(
        "trend",
        sample_portfolio,
        "-d",
        live,
        *when,
        "--every",
        "30",
        "--periods",
        "3",
        "-f",
        "jsonl",
    )
    assert trend.returncode == 0, trend.stderr
    rows = [json.loads(line) for line in trend.stdout.splitlines()]
    assert len(rows) == 3 * SAMPLE_COMPANIES
    assert sorted({r["as_of"] for r in rows}) == ["2026-04-16", "2026-05-16", "2026-06-15"]
    # report: by a property and by segment
    report = healthscore(
        "report", sample_portfolio, "-d", live, *when, "--by", "csm_owner", "--json"
    )
    assert report.returncode == 0, report.stderr
    assert sum(r["scored"] for r in json.loads(report.stdout)) == SAMPLE_COMPANIES
    table = healthscore("report", sample_portfolio, "-d", live, *when, "--by", "segment")
    assert table.returncode == 0
    assert "Upmarket (200+ employees)" in table.stdout


def test_the_score_table_and_whatif_name_each_company_and_say_why(sample_portfolio, tmp_path):
    live = EXAMPLES / "customer-health-score.json"
    names = {
        row["id"]: row["properties"]["name"]
        for row in map(json.loads, (sample_portfolio / "records.jsonl").open())
        if row["object_type"] == "companies"
    }
    out = tmp_path / "table.txt"
    run = healthscore(
        "score", sample_portfolio, "-d", live, "--as-of", AS_OF, "-f", "table", "-o", out
    )
    assert run.returncode == 0, run.stderr
    lines = out.read_text().splitlines()
    assert "why (what pulls it down)" in lines[2]
    first = next(line for line in lines if " c0000001 " in line)
    assert first.split("│")[1].strip() == names["c0000001"]  # the name, then the id
    assert sum(" -15" in line for line in lines if "NPS: nps_score ≤ 6" in line) > 0
    raw = json.loads(live.read_text())
    draft = tmp_path / "draft.json"
    raw["groups"][0]["max_points"] = 30  # the first group caps lower: only it moves
    draft.write_text(json.dumps(raw))
    whatif = healthscore(
        "whatif", sample_portfolio, "--live", live, "--draft", draft, "--as-of", AS_OF, "--json"
    )
    movers = json.loads(whatif.stdout)["movers"]
    assert movers
    for mover in movers:
        assert mover["name"] == names[mover["id"]]
        assert mover["why"].startswith(raw["groups"][0]["name"] + " ")


def test_analytics_refuse_bad_requests_with_exit_2(identity_portfolio):
    live = EXAMPLES / "customer-health-score.json"
    contacts = EXAMPLES / "champion-engagement.json"
    unknown = healthscore("report", identity_portfolio, "-d", live, "--by", "favourite_colour")
    assert unknown.returncode == 2
    assert "--by: no companies property 'favourite_colour'" in unknown.stderr
    mismatch = healthscore("whatif", identity_portfolio, "--live", live, "--draft", contacts)
    assert mismatch.returncode == 2
    assert "object_type" in mismatch.stderr
    periods = healthscore("trend", identity_portfolio, "-d", live, "--periods", "0")
    assert periods.returncode == 2
    assert "at least 1" in periods.stderr


def test_trend_says_when_the_data_starts_after_its_first_day(tmp_path):
    """A replay before the first event sees no activity: `trend` says so instead of showing a
    ramp as if it were the portfolio's."""
    folder = tmp_path / "short"
    folder.mkdir()
    (folder / "records.jsonl").write_text('{"object_type": "companies", "id": "c1"}\n')
    (folder / "segments.jsonl").write_text(
        '{"id": "seg-all-companies", "name": "All", "object_type": "companies"}\n'
    )
    (folder / "events.jsonl").write_text(
        '{"id": "e1", "type": "meeting_booked", "occurred_at": "2026-05-01T10:00:00Z", '
        '"object_type": "companies", "object_id": "c1", "properties": {}}\n'
    )
    live = EXAMPLES / "customer-health-score.json"
    when = ("--as-of", "2026-06-15T18:00:00Z")
    late = healthscore("trend", folder, "-d", live, *when, "--every", "30", "--periods", "4")
    assert late.returncode == 0, late.stderr
    assert "the event log starts on 2026-05-01" in " ".join(late.stderr.split())
    covered = healthscore("trend", folder, "-d", live, *when, "--every", "30", "--periods", "2")
    assert covered.returncode == 0
    assert "starts on" not in covered.stderr
