"""The nightly run on the local stack: `clock advance` past 03:00 UTC queues one reconciliation
per live score; its report (GET /jobs/{id}) compares every company and finds no drift; a state
corrupted in DynamoDB Local is found and repaired the next night. Each night also leaves a
snapshot (the trend) and an export an analyst downloads, rescores and opens in the notebooks."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta

from typer.testing import CliRunner

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.cli import app
from tests.builders import raw_property_score, self_rule
from tests.e2e.test_local_stack import call
from tests.notebooks.test_notebooks import BIN, FAILURES, ROOT

SCORE = raw_property_score("Nightly health", ["seg-all"], self_rule("nps_score", "gte", 9, 80))


def _next_night(url: str) -> list[dict]:
    now = datetime.fromisoformat(call(f"{url}/local/clock")[1]["now"])
    night = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    hours = int((night + timedelta(hours=3, minutes=30) - now).total_seconds() // 3600) + 1
    result = CliRunner().invoke(app, ["clock", "advance", f"{hours}h", "--url", url])
    assert result.exit_code == 0, result.output
    assert "reconciliation queued" in result.output
    call(f"{url}/local/drain", "POST")
    return [line for line in result.output.splitlines() if "reconciliation queued" in line]


def _job_of(queued: list[str], account: str, definition_id: str) -> str:
    """The job id the CLI printed for the account's score (exactly one)."""
    (line,) = [line for line in queued if f"{account} / {definition_id}" in line]
    return line.split("(job ")[1].split(";")[0]


def test_the_nightly_run_reconciles_each_live_score_and_repairs_a_corrupted_state(served) -> None:
    local, url = served
    account = "nightly"
    token = local.token(account)
    assert (
        call(f"{url}/segments/seg-all", "PUT", {"name": "All", "object_type": "companies"}, token)[
            0
        ]
        == 200
    )
    for n, nps in enumerate([3, 9, 10, 6]):
        body = {"properties": {"nps_score": nps}}
        assert call(f"{url}/records/companies/c{n}", "PUT", body, token)[0] == 200
    status, created = call(f"{url}/definitions", "POST", SCORE, token)
    assert status == 201, created
    did = created["id"]
    on = call(f"{url}/definitions/{did}/turn-on?version={created['version']}", "POST", None, token)
    assert on[0] == 202, on
    call(f"{url}/local/drain", "POST")
    body = {"properties": {"nps_score": 9}}
    assert call(f"{url}/records/companies/c0", "PUT", body, token)[0] == 200
    call(f"{url}/local/drain", "POST")

    # When the clock passes 03:00 UTC
    queued = _next_night(url)
    # Then a reconciliation of the score ran and found nothing to repair
    job_id = _job_of(queued, account, did)
    status, job = call(f"{url}/jobs/{job_id}", token=token)
    assert status == 200, job
    assert (job["kind"], job["status"]) == ("reconcile", "succeeded"), job
    assert job["detail"]["compared"] == 4
    assert (job["detail"]["drifted"], job["detail"]["first"]) == (0, [])

    # Given one company's stored score changed behind the scorer's back, in DynamoDB Local
    store = DynamoStore(Tables.bind(local.settings))
    item = store.tables.scores.get(f"{account}#{did}", "companies#c3")
    item.score = (item.score + 50) % 100
    item.save()
    # When the next night comes
    queued = _next_night(url)
    job_id = _job_of(queued, account, did)
    job = call(f"{url}/jobs/{job_id}", token=token)[1]
    # Then that company is reported with what was stored beside what was computed, and repaired
    assert (job["detail"]["drifted"], job["detail"]["repaired"]) == (1, 1), job
    (drift,) = job["detail"]["first"]
    assert drift["record_id"] == "c3"
    assert "score" in drift["differed"]
    card = call(f"{url}/definitions/{did}/records/companies/c3/health", token=token)[1]
    assert card["score"] == drift["computed"]["score"]


def test_the_night_leaves_an_export_and_a_snapshot_an_analyst_downloads_and_rescores(
    served, tmp_path
) -> None:
    """`healthscore export` downloads the nightly export and a fresh one; `healthscore score` on
    it writes exactly its scores.parquet; the trend has the night's row; the threshold-tuning
    and portfolio notebooks run headless on it and show the stored scores and the snapshot."""
    local, url = served
    account = "analyst"
    token = local.token(account)
    token_file = tmp_path / "token"
    token_file.write_text(token)
    segment = {"name": "All", "object_type": "companies"}
    assert call(f"{url}/segments/seg-all", "PUT", segment, token)[0] == 200
    for n, nps in enumerate([3, 9, 10, 6, 8, 2]):
        outcome = "churned" if nps < 5 else "renewed"
        body = {"properties": {"nps_score": nps, "renewal_outcome": outcome}}
        assert call(f"{url}/records/companies/a{n}", "PUT", body, token)[0] == 200
    status, created = call(f"{url}/definitions", "POST", SCORE, token)
    assert status == 201, created
    did = created["id"]
    on = call(f"{url}/definitions/{did}/turn-on?version={created['version']}", "POST", None, token)
    assert on[0] == 202, on
    call(f"{url}/local/drain", "POST")
    # When the night passes
    night = _job_of(_next_night(url), account, did)
    job = call(f"{url}/jobs/{night}", token=token)[1]
    assert job["detail"]["drifted"] == 0
    # Then it left an export of the score, downloadable with the CLI
    nightly = tmp_path / "nightly"
    runner = CliRunner()
    export = job["detail"]["export_job"]
    args = ["export", "--api", url, "--token-file", str(token_file)]
    result = runner.invoke(app, [*args, "--job", export, "--to", str(nightly)])
    assert result.exit_code == 0, result.output
    assert (nightly / "scores.parquet").exists()
    # (also as the score's newest export)
    latest = tmp_path / "latest"
    result = runner.invoke(app, [*args, "--definition-id", did, "--latest", "--to", str(latest)])
    assert result.exit_code == 0, result.output
    assert f"downloaded export {export} " in result.output
    assert (latest / "scores.parquet").read_bytes() == (nightly / "scores.parquet").read_bytes()
    # and a snapshot: the trend's row of that night counts every company
    status, trend = call(f"{url}/definitions/{did}/trend?days=90", token=token)
    assert status == 200, trend
    (row,) = trend["rows"]
    assert (row["count"], row["segment"]) == (6, "*")
    assert sum(row["statuses"].values()) == 6
    assert call(f"{url}/definitions/{did}/trend?segment=nope", token=token)[0] == 400
    # When an analyst exports now and rescores the export with the CLI
    fresh = tmp_path / "fresh"
    result = runner.invoke(app, [*args, "--definition-id", did, "--to", str(fresh)])
    assert result.exit_code == 0, result.output
    assert "6 stored scores" in result.output
    as_of = json.loads((fresh / "manifest.json").read_text())["as_of"]
    assert f"--as-of {as_of}" in result.output
    scored = tmp_path / "scored.parquet"
    command = ["score", str(fresh), "--definition", str(fresh / "definition.json")]
    result = runner.invoke(
        app, [*command, "--as-of", as_of, "--format", "parquet", "--output", str(scored)]
    )
    assert result.exit_code == 0, result.output
    # Then it writes the export's stored scores byte for byte
    assert scored.read_bytes() == (fresh / "scores.parquet").read_bytes()
    # and the notebooks run headless on the export
    for name, expected in (
        ("threshold_tuning", ["Stored scores beside the recomputed ones", "the same"]),
        ("portfolio_health", ["Every night, as stored", "1 nightly snapshots"]),
    ):
        page = tmp_path / f"{name}.html"
        command = [str(BIN / "marimo"), "export", "html", f"notebooks/{name}.py", "-o", str(page)]
        run = subprocess.run(
            [*command, "--", "--export", str(fresh)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        html = page.read_text()
        for text in expected:
            assert text in html, f"{name}: {text!r} missing"
        for failure in FAILURES:
            assert failure not in html, f"{name}: a cell failed ({failure})"
