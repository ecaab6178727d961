"""One change's writes to DynamoDB, all or nothing: the unit of work the scorer, the sweep and
the recompute hand domain objects to (score states, records, links, events, history entries).
Conditions, versions and TransactWriteItems live here, nowhere else. A change that writes one
item writes it with a conditional PutItem or DeleteItem — half the write units of a
transaction.

A refused write says whether the change had already been applied (its event was stored before:
a duplicate) or lost a race (retry with fresh reads)."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar, cast

from pynamodb.connection import Connection
from pynamodb.connection.base import BOTOCORE_EXCEPTIONS
from pynamodb.exceptions import (
    DeleteError,
    GetError,
    PutError,
    PynamoDBException,
    TransactWriteError,
)
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from healthscore.adapters.dynamo_tables import (
    AssociationItem,
    RecordItem,
    ScoreItem,
    Tables,
    join_key,
    split_key,
)
from healthscore.domain.dataset import AssociationLine, Event, RecordKey, StoredRecord
from healthscore.domain.score_state import ScoreState, pack_rule_points, unpack_rule_points
from healthscore.ports import MAX_TRANSACTION_ITEMS, TooManyAffected, WriteRefused

TOMBSTONE_DAYS = 35  # a deleted record's or removed link's tombstone outlives HubSpot's retries


def expiry(days: int) -> datetime:
    """When DynamoDB's TTL may remove an item: always from the wall clock, never the scorer's
    (a local stack's or a replay's clock can sit months in the past, and DynamoDB — Local too —
    deletes an expired item within seconds)."""
    return datetime.now(UTC) + timedelta(days=days)


THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


def is_throttled(error: BaseException) -> bool:
    """A transient refusal worth retrying the whole change for (the change is idempotent)."""
    return isinstance(error, PynamoDBException) and error.cause_response_code in THROTTLED


READ_RETRIES = 5  # a throttled read is tried again in place, with backoff, this many times

F = TypeVar("F", bound=Callable[..., Any])


def retry_throttled(read: F) -> F:
    """A read that DynamoDB throttles is tried again where it failed (as the AWS SDK does),
    rather than failing the whole change: a change that touches many records makes many reads,
    and one throttled read must not cost all of them."""

    @functools.wraps(read)
    def retried(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(READ_RETRIES + 1):
            try:
                return read(*args, **kwargs)
            except PynamoDBException as error:
                if not is_throttled(error) or attempt == READ_RETRIES:
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    return cast(F, retried)


@dataclass
class Transaction:
    """What one change writes, all or nothing (DynamoDB TransactWriteItems, ≤ 100 items)."""

    deletes: list[tuple[Model, Condition | None]] = field(default_factory=list)
    puts: list[tuple[Model, Condition | None]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.deletes) + len(self.puts)


def state_of(item: ScoreItem) -> ScoreState:
    """A stored score state as the domain's `ScoreState`."""
    _account, definition_id = split_key(item.pk)
    object_type, record_id = split_key(item.sk)
    return ScoreState(
        definition_id=definition_id,
        key=(object_type, record_id),
        score=int(item.score),
        status=item.status,
        color=item.color,
        groups=dict(item.groups or {}),
        rules=unpack_rule_points(item.points)
        if item.points is not None
        else dict(item.rules or {}),
        revision=int(item.revision or 0),
        tallies=item.tallies,
        due_day=date.fromisoformat(item.due_day) if item.due_day else None,
        changed_at=item.changed_at,
        change=item.change,
        updated_at=item.updated_at,
        version=None if item.version is None else int(item.version),
        override=item.override,
        computed_score=None if not item.computed else int(item.computed["score"]),
        computed_status=None if not item.computed else str(item.computed["status"]),
        stale=list(item.stale or []),
    )


def state_item(tables: Tables, account: str, state: ScoreState) -> ScoreItem:
    """The item that stores `state` (its version makes the write conditional)."""
    due = state.due_day.isoformat() if state.due_day is not None else None
    item = tables.scores(
        join_key(account, state.definition_id),
        join_key(*state.key),
        score=state.score,
        status=state.status,
        color=state.color,
        groups=state.groups,
        points=pack_rule_points(state.rules),
        revision=state.revision,
        tallies=state.tallies,
        due_day=due,
        changed_at=state.changed_at,
        change=state.change,
        override=state.override,
        computed=(
            None
            if state.computed_score is None
            else {"score": state.computed_score, "status": state.computed_status}
        ),
        stale=state.stale or None,
    )
    return _at_version(item, state.version)


M = TypeVar("M", ScoreItem, RecordItem)


def _at_version(item: M, version: int | None) -> M:
    """The item at the version read (its writes are conditional on it); a new item has none."""
    if version is not None:
        item.version = version
    return item


def association_keys(line: AssociationLine) -> tuple[str, str]:
    """The sort keys of both stored directions of a link."""
    return (
        join_key(line.from_type, line.from_id, line.to_type, line.to_id),
        join_key(line.to_type, line.to_id, line.from_type, line.from_id),
    )


class DynamoChangeWrites:
    """The writes of one change to one account, committed in one transaction."""

    def __init__(self, tables: Tables, connection: Connection, account: str) -> None:
        self.tables, self.connection, self.account = tables, connection, account
        self.transaction = Transaction()
        self._has_event = False  # the first put is the event: its refusal means "duplicate"

    def __len__(self) -> int:
        return len(self.transaction)

    def put_event_once(self, event: Event) -> None:
        """Store the event; if it is already stored the whole change was applied before."""
        item = self.tables.events(
            self.account,
            join_key(event.object_type, event.object_id, event.id),
            event_type=event.type,
            occurred_at_ms=int(event.occurred_at.timestamp() * 1000),
            properties=dict(event.properties),
            received_at=datetime.now(UTC),
        )
        self.transaction.puts.insert(0, (item, self.tables.events.pk.does_not_exist()))
        self._has_event = True

    def put_record(self, stored: StoredRecord, at: datetime) -> None:
        """Write the record (or its tombstone, kept `TOMBSTONE_DAYS`); its version condition
        serialises changes of one record."""
        record = stored.record
        tombstone = not stored.visible
        item = self.tables.records(
            self.account,
            join_key(record.object_type, record.id),
            object_type=record.object_type,
            record_id=record.id,
            properties=dict(record.properties),
            lists=sorted(record.lists),
            property_times=dict(stored.property_times),
            alive=stored.alive or None,
            deleted=stored.deleted or None,
            merged_into=stored.merged_into,
            tombstone=True if tombstone else None,
            expires_at=expiry(TOMBSTONE_DAYS) if tombstone else None,
            updated_at=at,
        )
        self.transaction.puts.append((_at_version(item, stored.version), None))

    def set_link(self, line: AssociationLine, was: str | None, stamp: str, at: datetime) -> None:
        """Both directions get `line.labels` and `stamp`, if the link's register still has the
        stamp read (`was`; None: nothing stored for the pair)."""
        model = self.tables.associations
        for sk in association_keys(line):
            item = model(self.account, sk, labels=list(line.labels), stamp=stamp, updated_at=at)
            self.transaction.puts.append((item, _link_condition(model, was)))

    def remove_link(self, line: AssociationLine, was: str | None, stamp: str | None) -> None:
        """Both directions become a tombstone with `stamp` (None: go), if the register still
        has the stamp read (`was`)."""
        model = self.tables.associations
        for sk in association_keys(line):
            if stamp is None:
                self.transaction.deletes.append(
                    (model(self.account, sk), _link_condition(model, was))
                )
                continue
            at = datetime.now(UTC)
            item = model(
                self.account,
                sk,
                labels=[],
                stamp=stamp,
                removed=True,
                expires_at=expiry(TOMBSTONE_DAYS),
                updated_at=at,
            )
            self.transaction.puts.append((item, _link_condition(model, was)))

    def mark_applied(self, stamp: str, definition_id: str, key: RecordKey) -> None:
        """A marker in the jobs table, kept `TOMBSTONE_DAYS`; refused if it already exists."""
        model = self.tables.jobs
        at = datetime.now(UTC)
        item = model(
            self.account,
            applied_key(stamp, definition_id, key),
            kind="applied",
            status="succeeded",
            created_at=at,
            updated_at=at,
            expires_at=expiry(TOMBSTONE_DAYS),
        )
        self.transaction.puts.append((item, model.pk.does_not_exist()))

    def hide_link(
        self, line: AssociationLine, was: str | None, deleted: str, stamp: str | None = None
    ) -> None:
        """Both directions skipped by readers (labels and stamp kept for a merge), if the
        register still has the stamp read."""
        model = self.tables.associations
        at = datetime.now(UTC)
        for sk in association_keys(line):
            item = model(
                self.account,
                sk,
                labels=list(line.labels),
                stamp=(stamp if stamp is not None else was) or None,
                removed=True,
                hidden_at=deleted,
                expires_at=expiry(TOMBSTONE_DAYS),
                updated_at=at,
            )
            self.transaction.puts.append((item, _link_condition(model, was)))

    def put_state(self, state: ScoreState) -> None:
        """Write the score state, if it is still at the version read."""
        self.transaction.puts.append((state_item(self.tables, self.account, state), None))

    def delete_state(self, state: ScoreState) -> None:
        """Remove the score state, if it is still at the version read."""
        self.transaction.deletes.append((state_item(self.tables, self.account, state), None))

    def append_history(
        self, definition_id: str, key: RecordKey, at: datetime, entry: dict[str, Any]
    ) -> None:
        self.transaction.puts.append(
            (history_item(self.tables, self.account, definition_id, key, at, entry), None)
        )

    def commit(self) -> None:
        """Write everything or nothing; WriteRefused says which conditions failed."""
        if len(self.transaction) > MAX_TRANSACTION_ITEMS:
            raise TooManyAffected(
                f"this change touches {len(self.transaction)} items; one transaction holds "
                f"{MAX_TRANSACTION_ITEMS}"
            )
        try:
            commit(self.connection, self.transaction)
        except WriteRefused as refused:
            # the event's put comes right after the deletes (commit's order)
            index = len(self.transaction.deletes)
            refused.duplicate = (
                self._has_event
                and index < len(refused.codes)
                and refused.codes[index] == "ConditionalCheckFailed"
            )
            raise


BatchKeys = tuple[list[tuple[str, str]], bool]  # (pk, sk) keys, and whether read consistently


BATCH_GET_LIMIT = 100  # keys in one BatchGetItem, all tables together


def batch_read(
    connection: Connection, wanted: Mapping[type[Model], BatchKeys]
) -> dict[type[Model], list[Any]]:
    """BatchGetItem over several tables — one request when there are at most 100 keys in all,
    else one per 100 — each table read as consistently as asked; the items found, by model.
    Keys DynamoDB leaves unprocessed (throttling) are asked again, with backoff."""
    by_table = {_table_name(model): model for model in wanted}
    if len(by_table) != len(wanted):
        raise ValueError("batch_read reads each table through one model")
    keys = [
        (model, key)
        for model, (model_keys, _consistent) in wanted.items()
        for key in dict.fromkeys(model_keys)  # a key asked twice is read once
    ]
    found: dict[type[Model], list[Any]] = {model: [] for model in wanted}
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {}
        for model, (pk, sk) in keys[start : start + BATCH_GET_LIMIT]:
            table = request.setdefault(
                _table_name(model), {"Keys": [], "ConsistentRead": wanted[model][1]}
            )
            table["Keys"].append({"pk": {"S": pk}, "sk": {"S": sk}})
        _read_all(connection, request, by_table, found)
    return found


def _read_all(
    connection: Connection,
    request: dict[str, Any],
    by_table: dict[str, type[Model]],
    found: dict[type[Model], list[Any]],
) -> None:
    for attempt in range(READ_RETRIES + 1):
        try:
            reply = connection.dispatch("BatchGetItem", {"RequestItems": request})
        except BOTOCORE_EXCEPTIONS as error:
            raise GetError(f"Failed to batch get items: {error}", error) from error
        for table, items in reply.get("Responses", {}).items():
            model = by_table[table]
            found[model] += [model.from_raw_data(item) for item in items]
        request = reply.get("UnprocessedKeys") or {}
        if not request:
            return
        time.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise GetError("Failed to batch get items: DynamoDB kept them unprocessed")


def _table_name(model: type[Model]) -> str:
    meta: Any = model.Meta
    return str(meta.table_name)


def applied_key(stamp: str, definition_id: str, key: RecordKey) -> str:
    """The jobs-table sort key of a step marker (job ids never start with `#`)."""
    return join_key("#applied", stamp, definition_id, *key)


def _link_condition(model: type[AssociationItem], was: str | None) -> Condition:
    """The link's register still as read: absent (None), stored before stamps (""), or at the
    stamp read."""
    if was is None:
        return model.pk.does_not_exist()
    if was == "":
        return cast(Condition, model.pk.exists() & model.stamp.does_not_exist())
    return cast(Condition, model.stamp == was)


def history_item(
    tables: Tables,
    account: str,
    definition_id: str,
    key: RecordKey,
    at: datetime,
    entry: dict[str, Any],
) -> Model:
    return tables.history(
        join_key(account, definition_id, *key),
        f"{history_instant(at)}#{entry.get('sequence', 0):06d}",
        entry=entry,
    )


def history_instant(at: datetime) -> str:
    """A history entry's sort key begins with its instant, in UTC: key order is time order."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def commit(connection: Connection, transaction: Transaction) -> None:
    """Write the transaction — one item on its own, with its condition — and WriteRefused says
    which items' conditions failed."""
    if not len(transaction):
        return
    if len(transaction) == 1:
        _write_one(transaction)
        return
    try:
        with TransactWrite(connection=connection) as write:
            for item, condition in transaction.deletes:
                write.delete(item, condition=condition)
            for item, condition in transaction.puts:
                write.save(item, condition=condition)
    except TransactWriteError as error:
        if error.cause_response_code in (
            "TransactionCanceledException",
            "TransactionConflictException",
        ):
            reasons = error.cancellation_reasons or []
            codes = [None if r is None or r.code == "None" else r.code for r in reasons]
            raise WriteRefused(codes or ["TransactionConflict"]) from error
        raise


def _write_one(transaction: Transaction) -> None:
    """A lone put or delete, conditional as it would be in the transaction (with the item's
    version condition)."""
    try:
        if transaction.puts:
            item, condition = transaction.puts[0]
            item.save(condition=condition)
        else:
            item, condition = transaction.deletes[0]
            item.delete(condition=condition)
    except (PutError, DeleteError) as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise WriteRefused(["ConditionalCheckFailed"]) from error
        raise
