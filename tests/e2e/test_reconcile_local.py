"""The nightly reconciliation on the local stack: `clock advance` past 03:00 UTC queues one job
per live score; its report (GET /jobs/{id}) compares every company and finds no drift after
events arrived through signed webhooks; a state corrupted in DynamoDB Local is found and
repaired the next night."""

from __future__ import annotations

from datetime import datetime, timedelta

from typer.testing import CliRunner

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.cli import app
from tests.builders import raw_property_score, self_rule
from tests.e2e.test_local_stack import call

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
