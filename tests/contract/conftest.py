"""Each storage port's implementations side by side: in memory, DynamoDB on moto, DynamoDB Local.
One store per implementation for a test module; each test takes a fresh account."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.adapters.memory_store import MemoryStore
from healthscore.ports import HealthScoreStore
from healthscore.settings import Settings
from tests.local_dynamodb import dynamodb_local_endpoint


@pytest.fixture(scope="module", params=["memory", "moto", "dynamodb-local"])
def store(request: pytest.FixtureRequest) -> Iterator[HealthScoreStore]:
    """One store per implementation for the module; each test takes a fresh account."""
    if request.param == "memory":
        yield MemoryStore()
        return
    from moto import mock_aws

    patch = pytest.MonkeyPatch()
    patch.setenv("AWS_ACCESS_KEY_ID", "testing")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    endpoint = dynamodb_local_endpoint() if request.param == "dynamodb-local" else None
    passthrough = {"core": {"passthrough": {"services": ["dynamodb"]}}} if endpoint else None
    with mock_aws(config=passthrough):
        tables = Tables.bind(
            Settings.for_prefix(f"c{uuid.uuid4().hex[:10]}", dynamodb_endpoint=endpoint)
        )
        tables.create_missing()
        try:
            yield DynamoStore(tables)
        finally:
            if endpoint:
                for model in tables.all():
                    model.delete_table()
            patch.undo()


@pytest.fixture
def account() -> str:
    return f"acct-{uuid.uuid4().hex[:8]}"
