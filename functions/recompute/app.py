"""Runs recompute jobs (turn-on, update) from the recompute queue, one job per message.

Partial batch failures: a job that raises is reported and redelivered (then the DLQ after
three tries); a job already finished is acknowledged without work, so redelivery is safe.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.services.recompute import run_job
from healthscore.settings import Settings

logger = Logger(service="healthscore-recompute")
tracer = Tracer(service="healthscore-recompute")
processor = BatchProcessor(event_type=EventType.SQS)


@functools.cache
def store() -> DynamoStore:
    return DynamoStore(Tables.bind(Settings.from_environment()))


def run(record: SQSRecord) -> None:
    message = json.loads(record.body)
    logger.info("running job", extra=message)
    run_job(store(), message["account_id"], message["job_id"])


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=run, processor=processor, context=context
    )
