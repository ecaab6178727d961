"""The recompute (turn-on, update): the Polars batch engine over a sharded export of the account.

On AWS, EventBridge Pipes hands each job message from the recompute queue to the
`RecomputeStateMachine`, which invokes this function once per step:

- `{"step": "plan", "account_id", "job_id"}` → export the account to S3 in shards; returns the
  manifest and the list of shards for the distributed map;
- `{"step": "shard", "manifest", "shard"}` → score one shard, write what changed;
- `{"step": "finish", "manifest"}` → remove states that left scope, mark the job succeeded;
- `{"step": "failed", "account_id", "job_id", "error"}` → mark the job failed.

A reconciliation job (kind `reconcile`, queued nightly) takes the same three steps: plan reads
the score's states and exports, each shard compares and repairs, finish adds the reports up,
saves the day's snapshot, marks the job, publishes `Drift` and queues the score's export for
analysts. An export job (kind `export`: `POST /exports`, or the one a reconciliation queues)
is done whole in the plan step, which then says there is nothing more to do.

Given an SQS batch instead (the queue wired straight to the function, and the local stack), it
runs each job whole in one invocation, with partial batch failures.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore import bootstrap
from healthscore.adapters.dataset_export import ExportStorage, Manifest
from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.job_queue import SqsJobStarter
from healthscore.services.exports import EXPORT, run_export
from healthscore.services.jobs import (
    RECONCILE,
    begin_reconciliation,
    end_reconciliation,
    is_reconciliation,
    run_job,
)
from healthscore.services.recompute import (
    end_job,
    finish,
    plan,
    score_shard,
    start_job,
    wait_out,
)
from healthscore.services.reconcile import (
    ReconcileReport,
    finish_reconciliation,
    plan_reconciliation,
    reconcile_shard,
)
from healthscore.settings import Settings

logger = Logger(service="healthscore-recompute")
tracer = Tracer(service="healthscore-recompute")
metrics = Metrics(namespace="healthscore", service="recompute")
processor = BatchProcessor(event_type=EventType.SQS)


@functools.cache
def settings() -> Settings:
    return Settings.from_environment()


@functools.cache
def store() -> DynamoStore:
    return bootstrap.store(settings())


def exports() -> ExportStorage | None:
    return bootstrap.exports(settings())


def datasets() -> ExportStorage:
    return bootstrap.datasets(settings())


def now() -> Any:
    return bootstrap.clock(settings()).now()


def settle(changed_at: datetime) -> None:
    """Before an export: scorers planning with the score as it was have committed by now."""
    wait_out(changed_at, settings().recompute_settle_seconds)


def _drift_metrics(account: str, report: ReconcileReport) -> None:
    """Drift per account and score (the template's alarm fires above 0)."""
    with single_metric(
        name="Drift", unit=MetricUnit.Count, value=report.drifted, namespace="healthscore"
    ) as metric:
        metric.add_dimension(name="account", value=account)
        metric.add_dimension(name="definition", value=report.definition_id)
    metrics.add_metric(name="Drift", unit=MetricUnit.Count, value=report.drifted)  # the alarm's
    metrics.add_metric(name="RecordsReconciled", unit=MetricUnit.Count, value=report.compared)


def run(record: SQSRecord) -> None:
    message = json.loads(record.body)
    logger.info("running job", extra=message)
    report = run_job(
        store(),
        message["account_id"],
        message["job_id"],
        as_of=now(),
        exports=exports(),
        shard_size=settings().recompute_shard_size,
        settle=settle,
        datasets=datasets(),
        start_job=SqsJobStarter(settings()),
    )
    if report is not None:
        _drift_metrics(message["account_id"], report)


def step(event: dict[str, Any]) -> dict[str, Any]:
    storage = exports()
    if storage is None:
        raise RuntimeError("EXPORT_BUCKET is not set: the state machine needs the export bucket")
    kind = event["step"]
    if kind == "plan":
        job = store().job(event["account_id"], event["job_id"])
        if job is not None and job.kind == EXPORT:
            run_export(store(), datasets(), event["account_id"], job.id, now())
            return {"skip": True, "shards": []}
        if job is not None and job.kind == RECONCILE:
            definition_id = begin_reconciliation(store(), event["account_id"], job)
            if definition_id is None:
                return {"skip": True, "shards": []}
            manifest = plan_reconciliation(
                store(),
                storage,
                event["account_id"],
                definition_id,
                job.id,
                now(),
                settings().recompute_shard_size,
            )
            return {
                "skip": False,
                "manifest": manifest.to_json(),
                "shards": list(range(manifest.shards)),
            }
        definition_id = start_job(store(), event["account_id"], event["job_id"], settle)
        if definition_id is None:
            return {"skip": True, "shards": []}
        manifest = plan(
            store(),
            storage,
            event["account_id"],
            definition_id,
            event["job_id"],
            now(),
            settings().recompute_shard_size,
        )
        return {
            "skip": False,
            "manifest": manifest.to_json(),
            "shards": list(range(manifest.shards)),
        }
    if kind == "shard":
        manifest = Manifest(**event["manifest"])
        if is_reconciliation(store(), manifest.account_id, manifest.job_id):
            part = reconcile_shard(store(), storage, manifest, int(event["shard"]))
            return {"compared": part.compared, "drifted": part.drifted}
        summary = score_shard(store(), storage, manifest, int(event["shard"]))
        metrics.add_metric(name="ScoresWritten", unit=MetricUnit.Count, value=summary.written)
        return asdict(summary)
    if kind == "finish":
        manifest = Manifest(**event["manifest"])
        if is_reconciliation(store(), manifest.account_id, manifest.job_id):
            report = finish_reconciliation(store(), storage, manifest)
            account, job_id = manifest.account_id, manifest.job_id
            end_reconciliation(store(), account, job_id, report, SqsJobStarter(settings()))
            _drift_metrics(manifest.account_id, report)
            return {"compared": report.compared, "drifted": report.drifted}
        summary = finish(store(), storage, manifest)
        end_job(store(), manifest.account_id, manifest.job_id, asdict(summary))
        return asdict(summary)
    if kind == "failed":
        detail = {"error": str(event.get("error") or "the recompute failed")}
        end_job(store(), event["account_id"], event["job_id"], detail, failed=True)
        return detail
    raise ValueError(f"unknown step {kind!r}")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=run, processor=processor, context=context
        )
    return step(event)
