"""Shared set-up for the incremental-scoring tests: tables, a portfolio loaded as data (not
scored), a live score, and a clock the test moves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from healthscore.adapters.dataset_files import read_dataset
from healthscore.adapters.dynamo_definitions import now
from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.domain.dataset import AssociationLine, Dataset
from healthscore.ports import ScoreStore
from healthscore.services.recompute import recompute

ROOT = Path(__file__).parents[2]
CUSTOMER_HEALTH = json.loads((ROOT / "docs/examples/customer-health-score.json").read_text())


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


@dataclass
class Clock:
    at: datetime

    def __call__(self) -> datetime:
        return self.at

    def to(self, day: date) -> None:
        self.at = midnight(day) + timedelta(hours=1)


def load_data(store: ScoreStore, account: str, folder: Path) -> Dataset:
    """Records, links and segments stored as they are (events are left for the test to send)."""
    data = read_dataset(folder)
    for line in (folder / "segments.jsonl").read_text().splitlines():
        body = json.loads(line)
        store.put_segment(account, body)
    for record in data.all_records():
        store.put_record(account, record)
    for one, other, labels in data.association_pairs():
        if one < other:
            store.put_association(account, AssociationLine(*one, *other, tuple(sorted(labels))))
    return data


def make_live(
    store: ScoreStore,
    account: str,
    definition_id: str,
    raw: dict[str, Any],
    revision: int = 1,
    as_of: datetime | None = None,
) -> None:
    """Turn the score on as the API does: the live revision, then the initial computation."""
    store.put_live_definition(account, definition_id, raw, revision)
    at = as_of or now()
    recompute(store, account, definition_id, f"turn-on-{revision}", at, shard_size=7)


def publish_revision(
    store: ScoreStore, account: str, definition_id: str, raw: dict[str, Any], revision: int
) -> None:
    """A new live revision, before its recompute has run."""
    store.put_live_definition(account, definition_id, raw, revision)


def stored_scores(store: ScoreStore, account: str, definition_id: str) -> dict[str, Any]:
    return {
        state.key[1]: (state.score, state.status, state.groups)
        for state in store.scores(account, definition_id)
    }


def seed_states(
    store: DynamoStore,
    account: str,
    definition_id: str,
    raw: dict[str, Any],
    count: int,
    due_every: int,
    today: date,
) -> int:
    """`count` scored companies written straight into the scores table, each with a real tally
    (two meetings a month ago, decaying), one in `due_every` due today and the rest later.
    Returns how many are due."""
    from healthscore.adapters.dynamo_tables import join_key
    from healthscore.domain.dataset import Event, Record
    from healthscore.domain.tallies import build_tally
    from healthscore.domain.tally_scores import score_from_tallies
    from healthscore.domain.tally_storage import encode_tally
    from healthscore.domain.validation import parse_definition

    definition = parse_definition(raw)
    company = Record("companies", "template", {"nps_score": 9})
    meetings = [
        Event(f"m{n}", "meeting_booked", midnight(today) - timedelta(days=20 + n), *company.key)
        for n in range(2)
    ]
    tally = build_tally(definition, Dataset([company], (), meetings), company)
    result = score_from_tallies(definition, tally, today)
    blob = encode_tally(tally)
    due = 0
    with store.tables.scores.batch_write() as batch:
        for n in range(count):
            key = ("companies", f"c{n:06d}")
            day = today if n % due_every == 0 else today + timedelta(days=1 + n % 200)
            due += day == today
            batch.save(
                store.tables.scores(
                    join_key(account, definition_id),
                    join_key(*key),
                    score=result.score,
                    status=result.status,
                    color=result.color,
                    groups={g.name: g.hundredths // 100 for g in result.groups},
                    points=b"",
                    revision=1,
                    tallies=blob,
                    due_day=day.isoformat(),
                    version=1,
                )
            )
    return due


@dataclass
class Drained:
    faults_injected: int
    redelivered: int
    dead_letters: list[Any]


def drain_through_scorer(
    store: DynamoStore,
    monkeypatch: Any,
    messages: list[str],
    faults: float,
    seed: int,
) -> Drained:
    """The scorer function behind a changes queue with its DLQ (maxReceiveCount 5, as in
    template.yaml), on moto's SQS and `store`'s DynamoDB Local tables: the messages sent, then
    drained as Lambda's event source would, with `faults` of the DynamoDB calls failing."""
    import boto3
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
    from moto import mock_aws

    from healthscore.adapters.dynamo_meter import metered
    from healthscore.dev.local_resources import sqs_event
    from healthscore.dev.local_stack import LocalLambdaContext
    from healthscore.settings import Settings
    from tests.api.client import load_function
    from tests.local_dynamodb import dynamodb_local_endpoint

    with mock_aws(config={"core": {"passthrough": {"services": ["dynamodb"]}}}):
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq = sqs.create_queue(QueueName="changes-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
        queue = sqs.create_queue(QueueName="changes", Attributes={"RedrivePolicy": redrive})[
            "QueueUrl"
        ]
        env = Settings.for_prefix(
            store.tables.scores.Meta.table_name.rsplit("-", 1)[0],
            dynamodb_endpoint=dynamodb_local_endpoint(),
            changes_queue_url=queue,
        ).environment()
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "healthscore")
        scorer = load_function("scorer")
        scorer.scorer.cache_clear()
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(i), "MessageBody": m} for i, m in enumerate(messages[start : start + 10])
            ]
            sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        redelivered = 0
        with metered(faults=faults, seed=seed) as meter:
            while True:
                batch = sqs.receive_message(
                    QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=30
                ).get("Messages", [])
                if not batch:
                    break
                try:
                    result = scorer.lambda_handler(sqs_event(batch, queue), LocalLambdaContext())
                    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
                except BatchProcessingError:  # every message failed: Lambda retries them all
                    failed = {m["MessageId"] for m in batch}
                redelivered += len(failed)
                for message in batch:
                    handle = message["ReceiptHandle"]
                    if message["MessageId"] in failed:  # visible again, as after the timeout
                        sqs.change_message_visibility(
                            QueueUrl=queue, ReceiptHandle=handle, VisibilityTimeout=0
                        )
                    else:
                        sqs.delete_message(QueueUrl=queue, ReceiptHandle=handle)
        scorer.scorer.cache_clear()
        dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    return Drained(meter.faults_injected, redelivered, dead)


def batch_engine_scores(
    store: ScoreStore, account: str, segment: dict[str, Any], folder: Path, day: datetime
) -> dict[str, Any]:
    """The Polars batch engine over what the store holds (the customer health score), exported
    in the portable format."""
    from healthscore.domain.validation import parse_definition
    from healthscore.services.scoring import Engine, score_rows

    data = store.dataset(account)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "records.jsonl").open("w") as out:
        for r in data.all_records():
            row = {"object_type": r.object_type, "id": r.id, "properties": dict(r.properties)}
            out.write(json.dumps({**row, "lists": sorted(r.lists)}) + "\n")
    with (folder / "associations.jsonl").open("w") as out:
        for one, other, labels in data.association_pairs():
            if one < other:
                line = {"from_type": one[0], "from_id": one[1], "to_type": other[0]}
                line |= {"to_id": other[1], "labels": sorted(labels)}
                out.write(json.dumps(line) + "\n")
    with (folder / "events.jsonl").open("w") as out:
        for e in data.all_events():
            row = {"id": e.id, "type": e.type, "occurred_at": e.occurred_at.isoformat()}
            row |= {"object_type": e.object_type, "object_id": e.object_id}
            out.write(json.dumps({**row, "properties": dict(e.properties)}) + "\n")
    (folder / "segments.jsonl").write_text(json.dumps(segment) + "\n")
    rows = score_rows(parse_definition(CUSTOMER_HEALTH), folder, day, Engine.POLARS)
    return {row["id"]: (row["score"], row["status"], row["groups"]) for row in rows}


def item_size(item: Any) -> int:
    """A stored item's size as DynamoDB bills it: each attribute's name and value, in bytes
    (strings and binary as stored, numbers at about one byte per two digits)."""
    total = 0
    for name, value in item.serialize().items():
        total += len(name.encode()) + _value_size(value)
    return total


def _value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "B":
        return len(data if isinstance(data, bytes) else data.encode())
    if kind == "N":
        return len(data.lstrip("-").replace(".", "").lstrip("0") or "0") // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in data.items())
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(v)) for v in data)
    raise ValueError(f"unknown DynamoDB type {kind}")
