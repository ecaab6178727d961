"""Status changes out: the history table's stream → `Health status changed` (and `Health input
stale`, for inputs a change found out of date) on EventBridge; and, where other live scores read
the score's outputs in their segments or rules, `UpstreamChanged` onto the changes queue for the
scorer to rescore them (services/upstream.py).

The transactional outbox: a history entry is committed with the score state it records, and its
stream record is delivered here (DynamoDB Streams event source, new items only) — so a status
change is published if and only if it was committed, whatever stops between the commit and the
publish. Powertools `BatchProcessor` with `ReportBatchItemFailures`: a record that cannot be
published is retried from there (bisected, then its batch goes to the notify DLQ). Each event's
`id` is its history entry's key: a consumer that must not act twice drops a repeated id (a
retried batch may publish a record again).
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
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore import bootstrap
from healthscore.adapters.change_queue import SqsChangeQueue
from healthscore.adapters.dynamo_tables import split_key
from healthscore.adapters.event_bus import EventBridgePublisher
from healthscore.adapters.history_stream import stale_inputs_of, status_change_of
from healthscore.domain.change_messages import encode_change
from healthscore.services.score_writes import LiveRevision, LiveRevisions
from healthscore.services.upstream import entry_of, upstream_change
from healthscore.settings import Settings

logger = Logger(service="healthscore-notify")
tracer = Tracer(service="healthscore-notify")
metrics = Metrics(namespace="healthscore", service="notify")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@functools.cache
def publisher() -> EventBridgePublisher:
    return bootstrap.status_publisher(Settings.from_environment())


@functools.cache
def revisions() -> LiveRevisions:
    return LiveRevisions(bootstrap.store(Settings.from_environment()))


@functools.cache
def changes() -> SqsChangeQueue:
    return bootstrap.change_queue(Settings.from_environment())


_lives: dict[str, list[LiveRevision]] = {}  # per account, read once per batch


def feed_back(image: dict[str, Any]) -> None:
    """A score's output moved: the scores that read it are rescored by the scorer."""
    account, definition_id, object_type, record_id = split_key(str(image["pk"]))
    if account not in _lives:
        _lives[account] = revisions().of(account)
    change = upstream_change(
        account,
        definition_id,
        (object_type, record_id),
        entry_of(image["entry"]),
        f"{image['pk']}/{image['sk']}",
        _lives[account],
    )
    if change is not None:
        changes().send([encode_change(account, change)])
        metrics.add_metric(name="UpstreamChangesFed", unit=MetricUnit.Count, value=1)


@tracer.capture_method
def publish(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb is not None else None
    if not image:
        return  # not a new history entry (the event source filters these out already)
    feed_back(image)
    change = status_change_of(image)
    stale = stale_inputs_of(image)
    if change is None and not stale:
        return  # the score moved, the status did not and no input went stale
    publisher().publish([*([change] if change else []), *stale])
    if change is not None:
        metrics.add_metric(name="StatusChangesPublished", unit=MetricUnit.Count, value=1)
    if stale:
        metrics.add_metric(name="StaleInputsPublished", unit=MetricUnit.Count, value=len(stale))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _lives.clear()  # live scores as they are now, once per batch
    return process_partial_response(
        event=event, record_handler=publish, processor=processor, context=context
    )
