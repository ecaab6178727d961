"""Changes leave the webhook (and the records API) through the changes queue (SQS, with a DLQ);
the scorer function reads them, one change per message."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from healthscore.adapters.aws_clients import client
from healthscore.adapters.webhooks import change_message
from healthscore.domain.changes import Change
from healthscore.settings import Settings

SQS_BATCH = 10  # SendMessageBatch's limit


class QueueUnavailable(RuntimeError):
    """Some messages could not be enqueued; the sender should retry the whole batch."""


class SqsChangeQueue:
    def __init__(self, settings: Settings, sqs: Any = None) -> None:
        self.queue_url = settings.changes_queue_url
        self.sqs = sqs if sqs is not None else client("sqs", settings)

    def send(self, account: str, changes: Sequence[Change]) -> None:
        for start in range(0, len(changes), SQS_BATCH):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(change_message(account, change))}
                for i, change in enumerate(changes[start : start + SQS_BATCH])
            ]
            reply = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if reply.get("Failed"):
                failed = ", ".join(f["Id"] for f in reply["Failed"])
                raise QueueUnavailable(f"the changes queue refused messages {failed}")
