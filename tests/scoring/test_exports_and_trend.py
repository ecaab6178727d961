"""Exports for analysts and the daily trend.

An export's `scores.parquet` (the stored scores) is byte for byte the file `healthscore score`
writes from the export's own dataset; the trend's rows are the nightly snapshots, and each equals
the batch engine's aggregates over the data known on its day (an independent Polars
computation, not the snapshot code)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from healthscore.adapters.dataset_export import LocalExports
from healthscore.adapters.dataset_files import event_row, read_dataset
from healthscore.cli import app
from healthscore.domain.access import MANAGE_PERMISSION, SERVICE_SEAT, Caller
from healthscore.domain.errors import Conflict, InvalidRequest, NotFound
from healthscore.domain.snapshots import ALL
from healthscore.domain.validation import parse_definition
from healthscore.services.definitions import Definitions
from healthscore.services.exports import Exports, start_export
from healthscore.services.incremental import EventArrived, IncrementalScorer
from healthscore.services.jobs import run_job, start_reconciliation
from healthscore.services.overrides import Overrides
from healthscore.services.scoring import score_folder
from healthscore.services.sweep import Sweep
from healthscore.services.trends import Trends
from tests.scoring.support import CUSTOMER_HEALTH, Clock, load_data, make_live, midnight
from tests.scoring.test_incremental_scoring import (
    ACCOUNT,
    AS_OF,
    _sweep_to,
    replayed_year,
)

MANAGER = Caller(
    ACCOUNT, "csm@acme.test", frozenset({MANAGE_PERMISSION}), frozenset({SERVICE_SEAT})
)
runner = CliRunner()


def _export(store, storage, clock):
    queued: list[str] = []
    job = start_export(store, lambda _a, j: queued.append(j), ACCOUNT, "health", clock())
    assert queued == [job.id]
    assert run_job(store, ACCOUNT, job.id, as_of=clock(), datasets=storage) is None
    done = store.job(ACCOUNT, job.id)
    assert done is not None
    assert done.status == "succeeded", done.detail
    return done


def test_an_export_scores_byte_identically_to_its_stored_scores(
    memory_store, small_portfolio, tmp_path
):
    # Given a replayed, swept portfolio with a live score, and a CSM's override on one record
    store = memory_store
    data, clock = replayed_year(store, small_portfolio)
    overridden = sorted(s.key for s in store.scores(ACCOUNT, "health"))[0]
    overrides = Overrides(store, Definitions(store, lambda _a, _j: None))
    body = {
        "status": "At-risk",
        "score": 12,
        "reason": "champion left",
        "expires_at": "2026-08-01T00:00:00Z",
    }
    overrides.put(MANAGER, "health", overridden, body, clock())
    # When it is exported
    storage = LocalExports(tmp_path / "exports")
    job = _export(store, storage, clock)
    folder = storage.fetch(job.detail["location"])
    # Then the export holds the dataset, the definition, the overrides and the stored scores
    names = {f["name"] for f in job.detail["files"]}
    assert {
        "records.jsonl",
        "associations.jsonl",
        "events.jsonl",
        "segments.jsonl",
        "overrides.jsonl",
        "definition.json",
        "scores.parquet",
        "manifest.json",
    } <= names
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["as_of"] == clock().isoformat()
    assert job.detail["scores"] == len(list(store.scores(ACCOUNT, "health"))) == 10
    assert len(read_dataset(folder).all_events()) == len(data.all_events())
    stored = pl.read_parquet(folder / "scores.parquet")
    assert stored.filter(pl.col("override").is_not_null())["id"].to_list() == [overridden[1]]
    assert stored.filter(pl.col("id") == overridden[1])["score"].item() == 12
    # and `healthscore score` on the export writes the very same bytes
    scored = tmp_path / "scored.parquet"
    result = runner.invoke(
        app,
        [
            "score",
            str(folder),
            "--definition",
            str(folder / "definition.json"),
            "--as-of",
            manifest["as_of"],
            "--format",
            "parquet",
            "--output",
            str(scored),
        ],
    )
    assert result.exit_code == 0, result.output
    assert scored.read_bytes() == (folder / "scores.parquet").read_bytes()


def test_a_corrupted_stored_score_makes_the_export_differ_from_the_batch_result(
    memory_store, small_portfolio, tmp_path
):
    """The byte comparison can fail: scores.parquet is the stored scores, not a recomputation."""
    store = memory_store
    _data, clock = replayed_year(store, small_portfolio)
    state = next(iter(store.scores(ACCOUNT, "health")))
    state.score = (state.score + 7) % 101
    store.save_state(ACCOUNT, state)
    storage = LocalExports(tmp_path / "exports")
    folder = storage.fetch(_export(store, storage, clock).detail["location"])
    definition = parse_definition(json.loads((folder / "definition.json").read_text()))
    computed = score_folder(definition, folder, clock()).frame
    stored = pl.read_parquet(folder / "scores.parquet")
    differs = stored.join(computed.select("id", pl.col("score").alias("batch")), on="id")
    assert differs.filter(pl.col("score") != pl.col("batch"))["id"].to_list() == [state.key[1]]


def test_exports_are_refused_clearly_for_what_cannot_be_exported(memory_store):
    store = memory_store
    exports = Exports(store, lambda _a, _j: None, lambda: LocalExports(Path("/nonexistent")))
    with pytest.raises(InvalidRequest, match="definition_id"):
        exports.start(MANAGER, "")
    with pytest.raises(NotFound, match="nope"):
        exports.start(MANAGER, "nope")
    store.put_live_definition(ACCOUNT, "health", CUSTOMER_HEALTH, 1)
    Definitions(store, lambda _a, _j: None).turn_off(MANAGER, "health", 1)
    with pytest.raises(Conflict, match="not on"):
        exports.start(MANAGER, "health")
    # an export not done yet has no files to download
    queued = start_export(store, lambda _a, _j: None, ACCOUNT, "health", midnight(AS_OF))
    assert exports.view(queued)["files"] == []


def _known_by(folder: Path, target: Path, night) -> Path:
    """The portfolio as it was known on `night`: the events of the days before it."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("records.jsonl", "associations.jsonl", "segments.jsonl"):
        (target / name).write_text((folder / name).read_text())
    events = [e for e in read_dataset(folder).all_events() if e.occurred_at.date() < night.date()]
    (target / "events.jsonl").write_text("".join(json.dumps(event_row(e)) + "\n" for e in events))
    return target


def _expected(definition, folder: Path, until, segment_ids) -> dict[str, dict]:
    """Per segment: the aggregates the batch engine's scores give (computed here with Polars)."""
    result = score_folder(definition, folder, until)
    frame = result.frame.select("id", "score", "status")
    data = read_dataset(folder)
    members = {
        segment: {
            r.id
            for r in data.all_records()
            if r.object_type == definition.object_type
            and data.segments[segment].matches(r, until.date())
        }
        for segment in segment_ids
    }
    expected = {}
    for segment in (ALL, *segment_ids):
        rows = frame if segment == ALL else frame.filter(pl.col("id").is_in(members[segment]))
        statuses = dict.fromkeys((t.label for t in definition.thresholds), 0)
        for status, count in rows.group_by("status").len().iter_rows():
            statuses[status] = count
        expected[segment] = {
            "count": rows.height,
            "average": None if rows.is_empty() else round(rows["score"].mean(), 2),
            "median": None if rows.is_empty() else float(rows["score"].median()),
            "statuses": statuses,
            "overridden": 0,
        }
    return expected


def test_the_trend_has_one_row_per_night_matching_a_replay_of_those_days(
    memory_store, small_portfolio, tmp_path
):
    # Given a live score whose events arrive day by day over the last 12 days
    store = memory_store
    data = load_data(store, ACCOUNT, small_portfolio)
    start = AS_OF - timedelta(days=12)
    clock = Clock(midnight(start - timedelta(days=365)))
    make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=clock())
    scorer = IncrementalScorer(store, clock=clock)
    sweep = Sweep(store, clock=clock)
    events = sorted(data.all_events(), key=lambda e: e.occurred_at)
    before = [e for e in events if e.occurred_at.date() < start]
    for event in before:
        scorer.apply(ACCOUNT, EventArrived(event))
    _sweep_to(store, clock, start)
    definition = parse_definition(CUSTOMER_HEALTH)
    nights = []
    for offset in range(12):
        day = start + timedelta(days=offset)
        clock.at = midnight(day) + timedelta(hours=1)
        sweep.run()
        # the night's run at 03:00: a reconciliation per live score, which leaves the snapshot
        clock.at = midnight(day) + timedelta(hours=3)
        for job in start_reconciliation(store, lambda _a, _j: None, ACCOUNT, clock()):
            report = run_job(store, ACCOUNT, job.id, as_of=clock())
            assert report is not None
            assert report.drifted == 0, report
        nights.append(clock())
        for event in events:  # then the day's events arrive
            if event.occurred_at.date() == day:
                scorer.apply(ACCOUNT, EventArrived(event))
    # When the trend of the last 90 days is asked for, for everyone and per segment
    trends = Trends(store, clock)
    segments = list(definition.segments)
    for segment in (ALL, *segments):
        trend = trends.trend(MANAGER, "health", 90, segment)
        # Then there is one row per night, oldest first, equal to the batch engine's aggregates
        # over what was known that night
        assert [row["day"] for row in trend["rows"]] == [n.date().isoformat() for n in nights]
        for row, night in zip(trend["rows"], nights, strict=True):
            known = _known_by(small_portfolio, tmp_path / night.date().isoformat(), night)
            want = _expected(definition, known, night, segments)[segment]
            got = {k: row[k] for k in want}
            assert got == want, (night, segment)
        if segment == ALL:  # the days differ: the trend moves as events arrive and age
            assert all(row["count"] == 10 for row in trend["rows"])
            assert len({(row["average"], row["median"]) for row in trend["rows"]}) > 1
    # and a shorter window returns only its days; an unknown segment is refused by name
    assert len(trends.trend(MANAGER, "health", 5)["rows"]) == 5
    with pytest.raises(InvalidRequest, match="segment: 'no-such-segment' is not one"):
        trends.trend(MANAGER, "health", 90, "no-such-segment")
