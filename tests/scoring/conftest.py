"""Tables on moto (fast functional tests); the DynamoDB Local tests start their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.adapters.memory_store import MemoryStore
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.settings import Settings
from tests.local_dynamodb import dynamodb_local_endpoint

AS_OF_DAY = "2026-06-15"


@pytest.fixture
def moto_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoStore]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        tables = Tables.bind(Settings.for_prefix(f"t{uuid.uuid4().hex[:8]}"))
        tables.create_missing()
        yield DynamoStore(tables)


@pytest.fixture
def local_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoStore]:
    """Fresh tables on DynamoDB Local (the real emulator), removed afterwards."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = Settings.for_prefix(
        f"t{uuid.uuid4().hex[:10]}", dynamodb_endpoint=dynamodb_local_endpoint()
    )
    tables = Tables.bind(settings)
    tables.create_missing()
    try:
        yield DynamoStore(tables)
    finally:
        for model in tables.all():
            model.delete_table()


@pytest.fixture
def memory_store() -> MemoryStore:
    """The in-memory store: the use cases' tests run on it (tests/contract holds it to
    DynamoDB's behaviour; the DynamoDB-only guarantees are tested on DynamoDB Local)."""
    return MemoryStore()


@pytest.fixture(scope="session")
def small_portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datetime import date

    folder = tmp_path_factory.mktemp("portfolio")
    generate_portfolio(folder, 10, seed=11, until=date.fromisoformat(AS_OF_DAY))
    return folder


@pytest.fixture(scope="session")
def tiny_portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datetime import date

    folder = tmp_path_factory.mktemp("tiny")
    generate_portfolio(folder, 4, seed=5, until=date.fromisoformat(AS_OF_DAY))
    return folder
