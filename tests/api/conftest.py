"""The API under test: the real handler and its use cases, on the in-memory store (fast) and on
DynamoDB Local (the real emulator).

Every test in tests/api runs on the in-memory store in `make test` and on DynamoDB Local in
`make soak` (tests/contract holds the two stores, and moto, to the same behaviour). SQS is
moto's. Tables are created from the same models the code uses; tests/integration/test_template.py
pins those models to template.yaml.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.adapters.memory_store import MemoryStore
from healthscore.ports import HealthScoreStore
from healthscore.settings import Settings
from tests.api.client import ApiClient, load_function
from tests.local_dynamodb import dynamodb_local_endpoint


@dataclass
class Stack:
    api: ModuleType
    settings: Settings
    store: HealthScoreStore
    sqs: Any

    def admin(self, account: str, **kwargs: Any) -> ApiClient:
        return ApiClient.admin(self.api, account, **kwargs)

    def viewer(self, account: str) -> ApiClient:
        return ApiClient.viewer(self.api, account)

    def queued_jobs(self) -> list[dict[str, str]]:
        import json

        messages = self.sqs.receive_message(
            QueueUrl=self.settings.recompute_queue_url, MaxNumberOfMessages=10
        ).get("Messages", [])
        for message in messages:
            self.sqs.delete_message(
                QueueUrl=self.settings.recompute_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        return [json.loads(m["Body"]) for m in messages]


def _environment(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    # no scorer runs beside these tests' recomputes: nothing to wait out before an export
    monkeypatch.setenv("RECOMPUTE_SETTLE_SECONDS", "0")


# Every API test on the in-memory store in make test, and again on DynamoDB Local in make soak;
# the tests that need DynamoDB's own guarantees (concurrent edits) ask for DynamoDB Local.
@pytest.fixture(params=["memory", pytest.param("dynamodb-local", marks=pytest.mark.soak)])
def stack(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    from moto import mock_aws

    from healthscore import bootstrap

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    prefix = f"t{uuid.uuid4().hex[:10]}"
    endpoint = dynamodb_local_endpoint() if request.param == "dynamodb-local" else None
    # SQS is moto's in both cases; with DynamoDB Local, moto must let DynamoDB calls through.
    passthrough = {"core": {"passthrough": {"services": ["dynamodb"]}}} if endpoint else None
    with mock_aws(config=passthrough):
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName=f"{prefix}-recompute")["QueueUrl"]
        writeback_url = sqs.create_queue(QueueName=f"{prefix}-writeback")["QueueUrl"]
        settings = Settings.for_prefix(
            prefix,
            recompute_queue_url=queue_url,
            writeback_queue_url=writeback_url,
            dynamodb_endpoint=endpoint,
        )
        _environment(monkeypatch, settings)
        tables = Tables.bind(settings)
        store: HealthScoreStore
        if endpoint:
            tables.create_missing()
            store = DynamoStore(tables)
        else:  # every function the tests load composes its use cases on the same memory store
            store = MemoryStore()
            composed = bootstrap.api_use_cases
            monkeypatch.setattr(bootstrap, "store", lambda _settings: store)
            monkeypatch.setattr(
                bootstrap, "api_use_cases", lambda s, on=None: composed(s, on=on or store)
            )
        api = load_function("api")
        api.use_cases.cache_clear()
        try:
            yield Stack(api, settings, store, sqs)
        finally:
            api.use_cases.cache_clear()
            if endpoint:
                for model in tables.all():
                    model.delete_table()
    os.environ.pop("DYNAMODB_ENDPOINT", None)
