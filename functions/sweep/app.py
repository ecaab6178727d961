"""The sweep (EventBridge schedule, hourly): rescores the records whose next change day has
come, via the `due` index — never a scan."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore import bootstrap
from healthscore.services.sweep import Sweep
from healthscore.settings import Settings

logger = Logger(service="healthscore-sweep")
tracer = Tracer(service="healthscore-sweep")
metrics = Metrics(namespace="healthscore", service="sweep")


@functools.cache
def sweep() -> Sweep:
    return bootstrap.sweep(Settings.from_environment())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = sweep().run()
    metrics.add_metric(name="DueRecords", unit=MetricUnit.Count, value=summary.due)
    metrics.add_metric(name="Rescored", unit=MetricUnit.Count, value=summary.rescored)
    metrics.add_metric(name="StatusChanges", unit=MetricUnit.Count, value=summary.status_changes)
    logger.info("swept", extra=asdict(summary))
    return asdict(summary)
