"""The scorer: applies each change from the changes queue (SQS) to the score states it affects.

Powertools `BatchProcessor` with `ReportBatchItemFailures`: a change that fails (throttled,
raced too many times) is reported alone and redelivered; after five receives it goes to the DLQ.
Idempotent per change: an event is stored in the same transaction that applies it, so a
redelivered duplicate is recognised and changes nothing.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore import bootstrap
from healthscore.domain.change_messages import decode_change
from healthscore.services.incremental import IncrementalScorer
from healthscore.settings import Settings

logger = Logger(service="healthscore-scorer")
tracer = Tracer(service="healthscore-scorer")
metrics = Metrics(namespace="healthscore", service="scorer")
processor = BatchProcessor(event_type=EventType.SQS)


@functools.cache
def scorer() -> IncrementalScorer:
    return bootstrap.incremental_scorer(Settings.from_environment())


@tracer.capture_method
def apply(record: SQSRecord) -> None:
    message = decode_change(record.body)
    outcome = scorer().apply(message.account_id, message.change)
    if outcome.duplicate:
        metrics.add_metric(name="DuplicateChanges", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ScoresWritten", unit=MetricUnit.Count, value=outcome.written)
    metrics.add_metric(
        name="StatusChanges", unit=MetricUnit.Count, value=len(outcome.status_changes)
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=apply, processor=processor, context=context
    )
