"""Counting what DynamoDB is asked (benchmarks and cost tests): requests by operation, consumed
read/write capacity and items read, for every boto3/pynamodb client in the process.

Capacity is only reported when a request asks for it, so while metering every request asks
(`ReturnConsumedCapacity=TOTAL`). DynamoDB Local computes it from item sizes as DynamoDB does;
moto reports fixed figures, so cost is measured on DynamoDB Local (docs/architecture.md).

`faults` makes a share of calls fail with throttling before they are sent, as an overloaded
table would — for fault-tolerance tests.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

CAPACITY_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


@dataclass
class DynamoMeter:
    requests: Counter[str] = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0
    items_read: int = 0
    items_by_operation: Counter[str] = field(default_factory=Counter)
    items_by_table: Counter[str] = field(default_factory=Counter)
    faults_injected: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.items_by_operation.clear()
            self.items_by_table.clear()
            self.read_units = self.write_units = 0.0
            self.items_read = self.faults_injected = 0

    def record(self, operation: str, reply: dict[str, Any], table: str | None = None) -> None:
        consumed = reply.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        with self._lock:
            self.requests[operation] += 1
            for entry in entries:
                units = float(entry.get("CapacityUnits") or 0)
                if "ReadCapacityUnits" in entry or "WriteCapacityUnits" in entry:
                    self.read_units += float(entry.get("ReadCapacityUnits") or 0)
                    self.write_units += float(entry.get("WriteCapacityUnits") or 0)
                elif operation in READS:
                    self.read_units += units
                else:
                    self.write_units += units
            items = 0
            if operation in ("Query", "Scan"):
                items = int(reply.get("Count", 0))
            elif operation == "GetItem":
                items = 1 if reply.get("Item") else 0
            if items and table:
                self.items_by_table[table] += items
            if operation == "BatchGetItem":
                for name, found in reply.get("Responses", {}).items():
                    items += len(found)
                    self.items_by_table[name] += len(found)
            self.items_read += items
            self.items_by_operation[operation] += items

    def summary(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "total_requests": self.total_requests,
            "read_units": round(self.read_units, 2),
            "write_units": round(self.write_units, 2),
            "items_read": self.items_read,
        }


@contextmanager
def metered(faults: float = 0.0, seed: int = 0) -> Iterator[DynamoMeter]:
    """Count every DynamoDB call made inside the block (optionally failing a share of them)."""
    meter = DynamoMeter()
    original = BaseClient._make_api_call
    chance = random.Random(seed)

    def call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name != "dynamodb":
            return original(client, operation, params)
        if faults and chance.random() < faults:
            with meter._lock:
                meter.faults_injected += 1
            error = {
                "Error": {
                    "Code": "ProvisionedThroughputExceededException",
                    "Message": "injected: the table is throttling",
                }
            }
            raise ClientError(error, operation)
        if operation in CAPACITY_OPERATIONS:
            params = {**params, "ReturnConsumedCapacity": "TOTAL"}
        try:
            reply = original(client, operation, params)
        except ClientError:
            meter.record(operation, {})  # refused (e.g. a cancelled transaction): still a request
            raise
        meter.record(operation, reply, params.get("TableName"))
        return reply

    BaseClient._make_api_call = call
    try:
        yield meter
    finally:
        BaseClient._make_api_call = original
