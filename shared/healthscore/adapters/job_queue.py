"""Jobs leave the API through the recompute queue (SQS); the recompute function runs them."""

from __future__ import annotations

import json
from typing import Any

from healthscore.settings import Settings


class SqsJobStarter:
    """Sends `{"account_id", "job_id"}` to the recompute queue."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.queue_url = settings.recompute_queue_url
        if client is None:
            import boto3

            client = boto3.client(
                "sqs", region_name=settings.region, endpoint_url=settings.sqs_endpoint
            )
        self.client = client

    def __call__(self, account_id: str, job_id: str) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps({"account_id": account_id, "job_id": job_id}),
        )
