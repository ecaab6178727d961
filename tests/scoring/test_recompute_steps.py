"""The recompute function as the state machine drives it: plan (a sharded export to S3), one
call per shard, finish — on moto, against the batch engine over the same data."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest

from healthscore import bootstrap
from healthscore.adapters.dynamo_definitions import now
from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.dev.local_stack import LocalLambdaContext
from healthscore.dev.notebooks import NotebookInputs, download_export
from healthscore.domain.lifecycle import Job
from healthscore.domain.validation import parse_definition
from healthscore.services.exports import Exports
from healthscore.services.jobs import start_reconciliation
from healthscore.services.scoring import Engine, score_rows
from healthscore.settings import Settings
from tests.api.client import load_function
from tests.scoring.support import CUSTOMER_HEALTH, load_data, publish_revision, stored_scores

ACCOUNT = "acme"


@pytest.fixture
def recompute(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, DynamoStore]]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="exports")
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName=f"recompute-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        settings = Settings.for_prefix(  # no scorer runs beside it: nothing to wait out
            f"t{uuid.uuid4().hex[:8]}",
            export_bucket="exports",
            recompute_queue_url=queue,
            recompute_shard_size=3,
            recompute_settle_seconds=0,
        )
        for name, value in settings.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        tables = Tables.bind(settings)
        tables.create_missing()
        function = load_function("recompute")
        function.settings.cache_clear()
        function.store.cache_clear()
        try:
            yield function, DynamoStore(tables)
        finally:
            function.settings.cache_clear()
            function.store.cache_clear()


def _job(store: DynamoStore, job_id: str) -> None:
    at = now()
    store.save_job(ACCOUNT, Job(job_id, "turn-on", "queued", at, at, definition_id="health"))


def _state_machine(function: Any, job_id: str) -> dict[str, Any]:
    """What RecomputeStateMachine does, each payload through JSON as Step Functions passes it."""

    def invoke(payload: dict[str, Any]) -> Any:
        reply = function.lambda_handler(json.loads(json.dumps(payload)), LocalLambdaContext())
        return json.loads(json.dumps(reply))

    planned = invoke({"step": "plan", "account_id": ACCOUNT, "job_id": job_id})
    assert planned["skip"] is False
    for shard in planned["shards"]:
        invoke({"step": "shard", "manifest": planned["manifest"], "shard": shard})
    invoke({"step": "finish", "manifest": planned["manifest"]})
    return planned


def _batch(raw: dict[str, Any], folder: Any, as_of: str) -> dict[str, Any]:
    rows = score_rows(parse_definition(raw), folder, datetime.fromisoformat(as_of), Engine.POLARS)
    return {r["id"]: (r["score"], r["status"], r["groups"]) for r in rows}


def test_turn_on_then_update_through_the_state_machine_steps(recompute, small_portfolio):
    function, store = recompute
    # Given a portfolio with its events stored, and a score just turned on
    data = load_data(store, ACCOUNT, small_portfolio)
    with store.tables.events.batch_write() as batch:
        for event in data.all_events():
            batch.save(store.event_item(ACCOUNT, event))
    store.put_live_definition(ACCOUNT, "health", CUSTOMER_HEALTH, revision=1)
    _job(store, "job-1")
    # When the state machine runs plan → every shard → finish
    planned = _state_machine(function, "job-1")
    # Then the work was split (3 companies a shard here), the job succeeded, and every score
    # is the batch engine's over the same data
    assert len(planned["shards"]) == 4
    job = store.job(ACCOUNT, "job-1")
    assert job is not None
    assert job.status == "succeeded"
    assert job.detail["scored"] == 10
    assert job.detail["changed"] == 10
    as_of = planned["manifest"]["as_of"]
    assert stored_scores(store, ACCOUNT, "health") == _batch(
        CUSTOMER_HEALTH, small_portfolio, as_of
    )
    states = list(store.scores(ACCOUNT, "health"))
    assert all(s.tallies for s in states)  # the scorer carries on from these

    # When revision 2 doubles the value of meetings and is recomputed
    changed = json.loads(json.dumps(CUSTOMER_HEALTH))
    changed["groups"][0]["rules"][0]["points"] = 20
    publish_revision(store, ACCOUNT, "health", changed, revision=2)
    before = stored_scores(store, ACCOUNT, "health")
    _job(store, "job-2")
    planned = _state_machine(function, "job-2")
    # Then the scores are revision 2's, and exactly the companies whose score moved got a
    # history entry from this job
    after = _batch(changed, small_portfolio, planned["manifest"]["as_of"])
    assert stored_scores(store, ACCOUNT, "health") == after
    moved = {k for k in after if after[k][:2] != before[k][:2]}
    job = store.job(ACCOUNT, "job-2")
    assert job is not None
    assert job.detail["changed"] == len(moved)
    for company in moved:
        entries, _ = store.history(ACCOUNT, "health", ("companies", company), 1, None)
        assert entries[0]["cause"]["kind"] == "recompute"
        assert entries[0]["cause"]["job"] == "job-2"


def test_a_failed_step_marks_the_job_failed(recompute):
    function, store = recompute
    _job(store, "job-x")
    with pytest.raises(LookupError, match="not live"):
        function.lambda_handler(
            {"step": "plan", "account_id": ACCOUNT, "job_id": "job-x"}, LocalLambdaContext()
        )
    function.lambda_handler(
        {"step": "failed", "account_id": ACCOUNT, "job_id": "job-x", "error": "not live"},
        LocalLambdaContext(),
    )
    job = store.job(ACCOUNT, "job-x")
    assert job is not None
    assert (job.status, job.detail) == ("failed", {"error": "not live"})


def test_a_reconcile_job_takes_the_state_machines_steps_and_reports_drift(
    recompute, small_portfolio, capsys
):
    function, store = recompute
    # Given a score turned on over a stored portfolio, then one state changed behind its back
    data = load_data(store, ACCOUNT, small_portfolio)
    with store.tables.events.batch_write() as batch:
        for event in data.all_events():
            batch.save(store.event_item(ACCOUNT, event))
    store.put_live_definition(ACCOUNT, "health", CUSTOMER_HEALTH, revision=1)
    _job(store, "job-1")
    _state_machine(function, "job-1")
    item = next(iter(store.tables.scores.query(f"{ACCOUNT}#health")))
    item.score = (item.score + 40) % 100
    item.save()
    (job,) = start_reconciliation(store, lambda _account, _job_id: None, ACCOUNT, now())
    capsys.readouterr()
    # When the state machine runs the reconcile job: plan → every shard → finish
    planned = _state_machine(function, job.id)
    # Then it was split as a recompute is (3 companies a shard here), found that one state,
    # repaired it, and the job holds the report
    assert len(planned["shards"]) == 4
    done = store.job(ACCOUNT, job.id)
    assert done is not None
    assert (done.kind, done.status) == ("reconcile", "succeeded")
    assert (done.detail["compared"], done.detail["drifted"], done.detail["repaired"]) == (10, 1, 1)
    assert done.detail["first"][0]["record_id"] == item.sk.split("#", 1)[1]
    assert stored_scores(store, ACCOUNT, "health") == _batch(
        CUSTOMER_HEALTH, small_portfolio, planned["manifest"]["as_of"]
    )
    # and published Drift for the account and score (EMF on stdout, as on Lambda)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"Drift"' in line]
    dimensioned = [
        e for e in emf if e.get("account") == ACCOUNT and e.get("definition") == "health"
    ]
    assert [e["Drift"] for e in dimensioned] == [[1.0]]


def test_a_reconciliation_queues_an_export_the_plan_step_writes_to_s3(
    recompute, small_portfolio, tmp_path
):
    function, store = recompute
    # Given a score turned on and reconciled through the state machine's steps
    data = load_data(store, ACCOUNT, small_portfolio)
    with store.tables.events.batch_write() as batch:
        for event in data.all_events():
            batch.save(store.event_item(ACCOUNT, event))
    store.put_live_definition(ACCOUNT, "health", CUSTOMER_HEALTH, revision=1)
    _job(store, "job-1")
    _state_machine(function, "job-1")
    (job,) = start_reconciliation(store, lambda _account, _job_id: None, ACCOUNT, now())
    _state_machine(function, job.id)
    # Then the reconciliation saved the night's snapshot and queued the score's export
    done = store.job(ACCOUNT, job.id)
    assert done is not None
    assert done.detail["snapshot"]["count"] == 10
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = function.settings().recompute_queue_url
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    queued = json.loads(message["Body"])
    assert queued == {"account_id": ACCOUNT, "job_id": done.detail["export_job"]}
    # When the state machine runs that job: its plan step does the whole export
    reply = function.lambda_handler(
        {"step": "plan", "account_id": ACCOUNT, "job_id": queued["job_id"]}, LocalLambdaContext()
    )
    assert reply == {"skip": True, "shards": []}
    export = store.job(ACCOUNT, queued["job_id"])
    assert export is not None
    assert (export.kind, export.status) == ("export", "succeeded"), export.detail
    # Then every file is in the bucket under datasets/<account>/<job>/
    s3 = boto3.client("s3", region_name="us-east-1")
    prefix = f"datasets/{ACCOUNT}/{export.id}/"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="exports", Prefix=prefix)["Contents"]}
    assert {prefix + f["name"] for f in export.detail["files"]} == keys
    assert prefix + "scores.parquet" in keys
    # and the API's view links each file with a presigned GET of that key
    view = Exports(store, lambda _a, _j: None, lambda: bootstrap.datasets(function.settings()))
    files = {f["name"]: f["url"] for f in view.view(export)["files"]}
    link = urllib.parse.urlsplit(files["scores.parquet"])
    assert (link.netloc, link.path) == ("exports.s3.amazonaws.com", f"/{prefix}scores.parquet")
    assert "Signature" in urllib.parse.parse_qs(link.query)
    # and a notebook given the S3 prefix downloads it (once) and reads its stored scores
    folder = download_export(f"s3://exports/{prefix}", cache=tmp_path)
    assert (folder / "scores.parquet").read_bytes() == s3.get_object(
        Bucket="exports", Key=prefix + "scores.parquet"
    )["Body"].read()
    portfolio = NotebookInputs(export=str(folder)).load()
    assert portfolio.stored is not None
    assert portfolio.stored.height == 10
