"""The sweep (EventBridge schedule, hourly): rescores the records whose next change day has
come, via the `next_day` index — never a scan. Nightly (`{"task": "reconcile"}`, its own
schedule) it queues a reconciliation of every live score instead: the recompute function runs
them (services/reconcile.py)."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore import bootstrap
from healthscore.adapters.job_queue import SqsJobStarter
from healthscore.services.jobs import start_nightly
from healthscore.services.sweep import Sweep
from healthscore.settings import Settings

logger = Logger(service="healthscore-sweep")
tracer = Tracer(service="healthscore-sweep")
metrics = Metrics(namespace="healthscore", service="sweep")


@functools.cache
def settings() -> Settings:
    return Settings.from_environment()


@functools.cache
def sweep() -> Sweep:
    return bootstrap.sweep(settings())


def reconcile_all() -> dict[str, Any]:
    store = bootstrap.store(settings())
    at = bootstrap.clock(settings()).now()
    jobs = start_nightly(store, SqsJobStarter(settings()), at, settings().reconcile_skipped)
    metrics.add_metric(name="ReconciliationsStarted", unit=MetricUnit.Count, value=len(jobs))
    logger.info("reconciliations queued", extra={"jobs": len(jobs)})
    return {
        "reconciliations": [
            {"account_id": account, "job_id": job.id, "definition_id": job.definition_id}
            for account, job in jobs
        ]
    }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("task") == "reconcile":
        return reconcile_all()
    summary = sweep().run()
    metrics.add_metric(name="DueRecords", unit=MetricUnit.Count, value=summary.due)
    metrics.add_metric(name="Rescored", unit=MetricUnit.Count, value=summary.rescored)
    metrics.add_metric(name="StatusChanges", unit=MetricUnit.Count, value=summary.status_changes)
    logger.info("swept", extra=asdict(summary))
    return asdict(summary)
