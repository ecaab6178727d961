"""The history table's stream, read locally and handed to the real notify handler — the path
`Health status changed` takes on AWS (DynamoDB Streams → functions/notify → EventBridge), with
DynamoDB Local's (or moto's) own stream."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

logger = logging.getLogger("healthscore.local")
POLL_EVERY = 0.2  # seconds between reads of a shard with nothing new


class StreamReader:
    """Reads every shard of one table's stream from its start, in order, and calls `handle`
    with each batch as Lambda's DynamoDB event source would; a batch that fails is read again
    (from the same position) on the next pass."""

    def __init__(self, dynamodb: Any, streams: Any, table: str, handle: Callable[..., Any]):
        self.dynamodb, self.streams, self.table, self.handle = dynamodb, streams, table, handle
        self.passes = 0  # complete passes that found nothing new (drain waits on them)
        self._stop = threading.Event()
        self._iterators: dict[str, str | None] = {}
        self._last: dict[str, str] = {}  # shard → sequence number of the last record handled

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        arn = self.dynamodb.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        while not self._stop.is_set():
            try:
                found = self._pass(arn)
            except Exception:  # the stack keeps running; the next pass tries again
                logger.exception("reading the history stream failed")
                found = True
            if not found:
                self.passes += 1
                self._stop.wait(POLL_EVERY)

    def _pass(self, arn: str) -> bool:
        found = False
        shards = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                where: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
                if shard_id in self._last:  # never hand a record over twice
                    where = {
                        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                        "SequenceNumber": self._last[shard_id],
                    }
                self._iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard_id, **where
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            if iterator is None:
                continue  # a closed shard, read to its end
            try:
                reply = self.streams.get_records(ShardIterator=iterator, Limit=100)
            except self.streams.exceptions.TrimmedDataAccessException:
                # DynamoDB Local says so of a shard with nothing written yet: start it again
                del self._iterators[shard_id]
                continue
            except self.streams.exceptions.ExpiredIteratorException:
                del self._iterators[shard_id]
                continue
            records = reply.get("Records", [])
            if records:
                event = {"Records": [_lambda_record(r, arn) for r in records]}
                result = self.handle(event)
                if result.get("batchItemFailures"):
                    return True  # read again from the same position
                self._last[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                found = True
            self._iterators[shard_id] = reply.get("NextShardIterator")
        return found


def _lambda_record(record: dict[str, Any], arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it over (timestamps as epoch seconds)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", "us-east-1"),
        "dynamodb": dynamodb,
        "eventSourceARN": arn,
    }


def wait_for(reader: StreamReader, passes: int, timeout: float) -> None:
    """Until `reader` has made `passes` more passes that found nothing new."""
    target = reader.passes + passes
    deadline = time.monotonic() + timeout
    while reader.passes < target:
        if time.monotonic() > deadline:
            raise TimeoutError("the history stream was not read to its end in time")
        time.sleep(0.05)


def queues_busy(sqs: Any, queues: list[str]) -> bool:
    """Whether any of the queues holds a message, waiting or in flight."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    for url in queues:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if any(int(attributes.get(name, 0)) for name in names):
            return True
    return False
