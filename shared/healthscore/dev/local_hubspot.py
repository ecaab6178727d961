"""The local stack's HubSpot side, as on AWS: the Pipe from the history stream to the
write-back queue, the write-back function draining it (batches of up to 100, as Lambda's SQS
event source with its batching window), and the sync function — run on demand locally
(`POST /local/hubspot-sync`; on AWS, its schedule). HubSpot itself is whatever
`HUBSPOT_BASE_URL` names — locally, `healthscore hubspot fake`.

Tokens live in the stack's SSM (moto) under the tokens path, as on AWS; `POST /local/hubspot-token`
puts one there (AWS: `aws ssm put-parameter --type SecureString`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from healthscore.dev.local_resources import settle, sqs_event
from healthscore.services.hubspot_push import history_message

logger = logging.getLogger("healthscore.local")
BATCH_WINDOW = 0.5  # seconds the local write-back waits to fill a batch (AWS: 10)


def pipe_history(sqs: Any, queue_url: str) -> Callable[[dict[str, Any]], None]:
    """What WritebackPipe does with a batch of the history stream: one message per new entry,
    `{"history": <its pk>}`."""

    def forward(event: dict[str, Any]) -> None:
        messages = []
        for record in event.get("Records", []):
            if record.get("eventName") != "INSERT":
                continue
            pk = record["dynamodb"]["Keys"]["pk"]["S"]
            account, definition_id, object_type, record_id = _split(pk)
            messages.append(history_message(account, definition_id, (object_type, record_id)))
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(i), "MessageBody": body}
                for i, body in enumerate(messages[start : start + 10])
            ]
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)

    return forward


def _split(pk: str) -> tuple[str, str, str, str]:
    from healthscore.adapters.dynamo_tables import split_key

    account, definition_id, object_type, record_id = split_key(pk)
    return account, definition_id, object_type, record_id


class LocalWriteback:
    """The write-back queue → the real writeback handler, batches of up to 100."""

    def __init__(self, sqs: Any, queue_url: str, handler: Any, context: Any) -> None:
        self.sqs, self.queue_url, self.handler, self.context = sqs, queue_url, handler, context
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            messages = self._batch()
            if not messages:
                continue
            try:
                result = self.handler.lambda_handler(
                    sqs_event(messages, self.queue_url), self.context
                )
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:  # the whole batch failed: Lambda would retry it
                logger.exception("write-back batch failed; its messages will be received again")
                failed = {m["MessageId"] for m in messages}
            settle(self.sqs, self.queue_url, messages, failed)

    def _batch(self) -> list[dict[str, Any]]:
        """Up to 100 messages: what arrives within the batching window after the first."""
        found: list[dict[str, Any]] = []
        deadline: float | None = None
        while len(found) < 100 and not self._stop.is_set():
            wait = 1 if deadline is None else 0
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                WaitTimeSeconds=wait,
                MaxNumberOfMessages=10,
                VisibilityTimeout=60,
            )
            got = reply.get("Messages", [])
            found += got
            if found and deadline is None:
                deadline = time.monotonic() + BATCH_WINDOW
            if deadline is None:
                return found
            if not got:
                if time.monotonic() >= deadline:
                    return found
                time.sleep(0.05)
        return found


def store_token(ssm: Any, tokens_path: str, account: str, token: str) -> str:
    """Put an account's private-app token where the functions read it; its reference."""
    name = f"{tokens_path.rstrip('/')}/{account}"
    ssm.put_parameter(Name=name, Value=token, Type="SecureString", Overwrite=True)
    return name


def sync_event(account: str | None) -> dict[str, Any]:
    """The scheduled event (with an account: one account only)."""
    event: dict[str, Any] = {"source": "aws.scheduler", "detail-type": "Scheduled Event"}
    if account:
        event["account"] = account
    return event


def wait_until_empty(sqs: Any, url: str, deadline: float) -> None:
    """Until nothing waits in the queue or is in flight (TimeoutError past `deadline`)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
        if not any(int(attributes["Attributes"].get(n, 0)) for n in names):
            return
        time.sleep(0.1)
    raise TimeoutError("the write-back queue did not drain in time")
