"""`healthscore upgrade links`: a stack deployed when links had their own table gets them back
in the records table, where this version reads them (moto's DynamoDB)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.cli import app
from healthscore.domain.dataset import AssociationLine, Record
from healthscore.settings import Settings

ACCOUNT = "acme"
OLD = "healthscore-AssociationsTable-OLD"


@pytest.fixture
def deployment(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoStore, Any]]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        tables = Tables.bind(Settings.for_prefix(f"u{uuid.uuid4().hex[:8]}"))
        tables.create_missing()
        yield DynamoStore(tables), boto3.client("dynamodb", region_name="us-east-1")


def _as_before_the_upgrade(store: DynamoStore, dynamodb: Any) -> str:
    """Links as the previous version stored them: in a table of their own, same keys."""
    records = store.tables.records.Meta.table_name
    dynamodb.create_table(
        TableName=OLD,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    )
    for item in dynamodb.scan(TableName=records)["Items"]:
        if "labels" in item:
            dynamodb.put_item(TableName=OLD, Item=item)
            dynamodb.delete_item(TableName=records, Key={"pk": item["pk"], "sk": item["sk"]})
    return records


def _link(dynamodb: Any, table: str, sk: str, labels: list[str], stamp: str) -> None:
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": ACCOUNT},
            "sk": {"S": sk},
            "labels": {"L": [{"S": label} for label in labels]},
            "stamp": {"S": stamp},
            "updated_at": {"S": "2026-12-01T00:00:00.000000+0000"},
        },
    )


def _labels(store: DynamoStore, company: str) -> dict[str, tuple[str, ...]]:
    return {
        line.to_id: tuple(line.labels)
        for line in store.associations_of(ACCOUNT, ("companies", company))
    }


def test_the_old_tables_links_are_back_where_this_version_reads_them(deployment) -> None:
    store, dynamodb = deployment
    # Given two companies and their contacts' links, stored as the previous version did
    for company, contacts in (("c1", ["p1", "p2"]), ("c2", ["p3"])):
        store.put_record(ACCOUNT, Record("companies", company, {}))
        for contact in contacts:
            store.put_record(ACCOUNT, Record("contacts", contact, {}))
            store.put_association(
                ACCOUNT, AssociationLine("companies", company, "contacts", contact, ("Champion",))
            )
    records = _as_before_the_upgrade(store, dynamodb)
    assert _labels(store, "c1") == {}  # this version does not see them yet
    # and one link changed twice: the old table holds the earlier change, and the upgraded stack
    # has already written the later one — and another the other way round
    newer, older = "companies#c2#contacts#p3", "companies#c1#contacts#p2"
    _link(dynamodb, OLD, newer, ["Champion"], "000000000000001#a")
    _link(dynamodb, records, newer, ["Blocker"], "000000000000002#b")
    _link(dynamodb, OLD, older, ["Economic buyer"], "000000000000003#c")
    _link(dynamodb, records, older, ["Blocker"], "000000000000002#d")

    # When the links are moved
    runner = CliRunner()
    args = ["upgrade", "links", "--from-table", OLD, "--to-table", records, "--region", "us-east-1"]
    result = runner.invoke(app, args)

    # Then every link is read again, the later of two changes winning
    assert result.exit_code == 0, result.output
    assert "copied 5 links" in result.output
    assert "1 were there already" in result.output
    assert _labels(store, "c1") == {"p1": ("Champion",), "p2": ("Economic buyer",)}
    assert _labels(store, "c2") == {"p3": ("Blocker",)}
    contact = store.record_links(ACCOUNT, ("contacts", "p1"))
    assert [link.to_id for link in contact.links] == ["c1"]
    # and a second run changes nothing
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "copied 0 links" in again.output
    assert _labels(store, "c1") == {"p1": ("Champion",), "p2": ("Economic buyer",)}


def test_a_wrong_table_name_is_named_and_nothing_is_written(deployment) -> None:
    store, _dynamodb = deployment
    records = store.tables.records.Meta.table_name
    result = CliRunner().invoke(
        app,
        [
            "upgrade",
            "links",
            "--from-table",
            "nope",
            "--to-table",
            records,
            "--region",
            "us-east-1",
        ],
    )
    assert result.exit_code == 2
    assert "--from-table nope: no such table" in result.output
