"""Changes leave the webhook through the changes queue (SQS, with a DLQ), one encoded change
per message (domain/change_messages.py); the scorer function reads them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from healthscore.adapters.aws_clients import client
from healthscore.settings import Settings

SQS_BATCH = 10  # SendMessageBatch's limit


class QueueUnavailable(RuntimeError):
    """Some messages could not be enqueued; the sender should retry the whole batch."""


class SqsChangeQueue:
    def __init__(self, settings: Settings, sqs: Any = None) -> None:
        self.queue_url = settings.changes_queue_url
        self.sqs = sqs if sqs is not None else client("sqs", settings)

    def send(self, messages: Sequence[str]) -> None:
        """Enqueue encoded changes (domain/change_messages.py), ten per SendMessageBatch."""
        for start in range(0, len(messages), SQS_BATCH):
            entries = [
                {"Id": str(i), "MessageBody": message}
                for i, message in enumerate(messages[start : start + SQS_BATCH])
            ]
            reply = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if reply.get("Failed"):
                failed = ", ".join(f["Id"] for f in reply["Failed"])
                raise QueueUnavailable(f"the changes queue refused messages {failed}")
