"""Changes leave the webhook through the changes queue (SQS, with a DLQ), one encoded change
per message (domain/change_messages.py); the scorer function reads them. The write-back queue
takes the same sends (records to push to HubSpot, functions/writeback)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from healthscore.adapters.aws_clients import client
from healthscore.settings import Settings

SQS_BATCH = 10  # SendMessageBatch's limit


class QueueUnavailable(RuntimeError):
    """Some messages could not be enqueued; the sender should retry the whole batch."""


class SqsChangeQueue:
    def __init__(self, settings: Settings, sqs: Any = None, queue_url: str | None = None) -> None:
        self.queue_url = queue_url if queue_url is not None else settings.changes_queue_url
        self.sqs = sqs if sqs is not None else client("sqs", settings)

    def send(self, messages: Sequence[str], delay: int = 0) -> None:
        """Enqueue messages (encoded changes: domain/change_messages.py), ten per
        SendMessageBatch, each received no sooner than `delay` seconds from now."""
        for start in range(0, len(messages), SQS_BATCH):
            entries = [
                {"Id": str(i), "MessageBody": message, "DelaySeconds": delay}
                for i, message in enumerate(messages[start : start + SQS_BATCH])
            ]
            reply = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if reply.get("Failed"):
                failed = ", ".join(f["Id"] for f in reply["Failed"])
                raise QueueUnavailable(f"the queue refused messages {failed}")
