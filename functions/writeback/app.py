"""Scores out to HubSpot: the write-back queue → `batch/update` calls (services/hubspot_push.py).

The queue holds the keys of committed history entries (an EventBridge Pipe from the history
table's stream) and "push all" pages (sent when a portal is connected). A whole SQS batch is
pushed at once, so a record that changed several times is written once, and ≤ 100 records go in
one HubSpot call. The answer reports the keys HubSpot kept refusing (`ReportBatchItemFailures`:
they come back, then go to the write-back DLQ); keys that met another pusher's lease are sent
again with a delay, and "push all" hands its next page on as a new message.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore import bootstrap
from healthscore.services.hubspot_push import Pusher, Queued, parse_message
from healthscore.settings import Settings

logger = Logger(service="healthscore-writeback")
tracer = Tracer(service="healthscore-writeback")
metrics = Metrics(namespace="healthscore", service="writeback")
DEFER_SECONDS = 20


@functools.cache
def settings() -> Settings:
    return Settings.from_environment()


@functools.cache
def pusher() -> Pusher:
    return bootstrap.hubspot_pusher(settings())


@functools.cache
def queue() -> Any:
    return bootstrap.writeback_queue(settings())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    queued: list[Queued] = []
    bodies: dict[str, str] = {}
    failures: list[str] = []
    for record in event.get("Records", []):
        message_id, body = record["messageId"], record["body"]
        try:
            queued.append(parse_message(message_id, body))
            bodies[message_id] = body
        except (ValueError, KeyError, TypeError) as error:
            logger.error("not a write-back message; it goes to the DLQ", body=body[:500])
            logger.debug(str(error))
            failures.append(message_id)
    result = pusher().push(queued)
    failures += sorted(result.failed)
    # contention, not failure: sent again for later (a redelivery would count towards the DLQ)
    failures += _requeue([(m, bodies[m]) for m in sorted(result.deferred)], DEFER_SECONDS)
    failures += _requeue(result.follow_ups, 0)
    metrics.add_metric(name="RecordsWrittenBack", unit=MetricUnit.Count, value=result.records)
    metrics.add_metric(name="WritebackBatchCalls", unit=MetricUnit.Count, value=result.batches)
    metrics.add_metric(name="WritebackDeferred", unit=MetricUnit.Count, value=len(result.deferred))
    metrics.add_metric(name="WritebackFailed", unit=MetricUnit.Count, value=len(result.failed))
    if result.failed:
        logger.warning("HubSpot kept refusing some batches", keys=len(result.failed))
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}


def _requeue(messages: list[tuple[str, str]], delay: int) -> list[str]:
    """Send the messages; if the queue refuses, the ids they came from (SQS brings those back)."""
    if not messages:
        return []
    try:
        queue().send([body for _, body in messages], delay=delay)
    except Exception:
        logger.exception("could not re-queue; the messages they came from are redelivered")
        return sorted({source for source, _ in messages})
    return []
