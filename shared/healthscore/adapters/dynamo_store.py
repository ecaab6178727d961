"""The account's data in DynamoDB: every read and write the services make, keyed by account.

Each method takes the account id first and builds keys from it, so one account's calls can only
reach that account's partition keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.pagination import ResultIterator

from healthscore.adapters.dynamo_definitions import (
    DynamoDefinitionStore,
    _get,
    now,
    refused_by_condition,
)
from healthscore.adapters.dynamo_history import DynamoHistory
from healthscore.adapters.dynamo_integrations import DynamoIntegrations
from healthscore.adapters.dynamo_snapshots import DynamoSnapshots
from healthscore.adapters.dynamo_tables import (
    LIVE_MARKER,
    SEPARATOR,
    AssociationItem,
    EventItem,
    RecordItem,
    ScoreItem,
    Tables,
    join_key,
    split_key,
)
from healthscore.adapters.dynamo_writes import (
    BatchKeys,
    DynamoChangeWrites,
    applied_key,
    association_keys,
    batch_read,
    retry_throttled,
    state_item,
    state_of,
)
from healthscore.domain.dataset import (
    AssociationLine,
    Dataset,
    Event,
    Record,
    RecordKey,
    Segment,
    StoredLink,
    StoredRecord,
)
from healthscore.domain.ordering import legacy_stamp
from healthscore.domain.score_state import ScoreState
from healthscore.ports import RecordLinks, Snapshot, record_neighbourhood, whole_account

T = TypeVar("T")


class DynamoStore(DynamoDefinitionStore, DynamoHistory, DynamoIntegrations, DynamoSnapshots):
    def __init__(self, tables: Tables) -> None:
        super().__init__(tables)
        meta: Any = tables.scores.Meta
        self._connection = Connection(region=meta.region, host=getattr(meta, "host", None))

    # -- records, associations, events ---------------------------------------------------------

    def put_record(self, account: str, record: Record) -> None:
        """Write a record as it is, whatever is stored (loading data; changes that must rescore
        go through the incremental scorer instead)."""
        self.new_record_item(account, record).save(add_version_condition=False)

    def new_record_item(self, account: str, record: Record) -> RecordItem:
        return self.tables.records(
            account,
            join_key(record.object_type, record.id),
            object_type=record.object_type,
            record_id=record.id,
            properties=dict(record.properties),
            lists=sorted(record.lists),
            updated_at=now(),
        )

    @retry_throttled
    def applied_targets(
        self, account: str, stamp: str, targets: list[tuple[str, RecordKey]]
    ) -> set[tuple[str, RecordKey]]:
        keys = {applied_key(stamp, d, k): (d, k) for d, k in targets}
        found = self.tables.jobs.batch_get(
            [(account, sk) for sk in keys], attributes_to_get=["pk", "sk"]
        )
        return {keys[item.sk] for item in found}

    @retry_throttled
    def stored_record(self, account: str, key: RecordKey) -> StoredRecord | None:
        """The record item as the scorer needs it (tombstones too): stamps and version."""
        item = _get(self.tables.records, account, join_key(*key))
        return None if item is None else _stored_record(item)

    @retry_throttled
    def record_links(self, account: str, key: RecordKey) -> RecordLinks:
        """One strongly consistent Query: the record's item and its links, which follow it in
        key order. Another record whose id extends this one's with a character sorting before
        `#` ("a 1" after "a") falls in the same range and is passed over."""
        own = join_key(*key)
        model = self.tables.records
        keys = model.sk.between(own, own + SEPARATOR + "\U0010ffff" * 2)
        query = self.tables.records._get_connection().query
        stored, registers = None, []
        raw: dict[str, Any]
        for raw in ResultIterator(query, (account, keys), {"consistent_read": True}):
            sk = str(raw["sk"]["S"])
            if sk == own:
                stored = _stored_record(self.tables.records.from_raw_data(raw))
            elif sk.startswith(own + SEPARATOR):
                link = self.tables.associations.from_raw_data(raw)
                registers.append((_association(link), _register(link)))
        return RecordLinks(stored, registers)

    @retry_throttled
    def snapshot(
        self,
        account: str,
        states: Iterable[tuple[str, RecordKey]] = (),
        records: Iterable[RecordKey] = (),
        consistent: bool = False,
    ) -> Snapshot:
        """One BatchGetItem over three tables: the live marker and the states read eventually
        consistent unless `consistent` (half the read units), the records always consistent."""
        tables = self.tables
        wanted: dict[type[Model], BatchKeys] = {
            tables.live_markers: ([(account, LIVE_MARKER)], consistent),
            tables.scores: (
                sorted({(join_key(account, d), join_key(*k)) for d, k in states}),
                consistent,
            ),
            tables.records: (sorted({(account, join_key(*k)) for k in records}), True),
        }
        found = batch_read(self._connection, {m: keys for m, keys in wanted.items() if keys[0]})
        marker = next((int(i.marker or 0) for i in found[tables.live_markers]), 0)
        read_states = {}
        for item in found.get(tables.scores, []):
            state = state_of(item)
            read_states[(state.definition_id, state.key)] = state
        read_records = {_pair(i.sk): _stored_record(i) for i in found.get(tables.records, [])}
        return Snapshot(marker, read_states, read_records)

    @retry_throttled
    def record(self, account: str, key: RecordKey) -> Record | None:
        item = _get(self.tables.records, account, join_key(*key))
        return None if item is None or item.tombstone else _record(item)

    @retry_throttled
    def records(self, account: str, keys: Iterable[RecordKey]) -> list[Record]:
        wanted = sorted(set(keys))
        found = self.tables.records.batch_get([(account, join_key(*k)) for k in wanted])
        return sorted((_record(item) for item in found if not item.tombstone), key=lambda r: r.key)

    @retry_throttled
    def tombstoned(self, account: str, keys: Iterable[RecordKey]) -> set[RecordKey]:
        wanted = sorted(set(keys))
        found = self.tables.records.batch_get(
            [(account, join_key(*k)) for k in wanted],
            attributes_to_get=["pk", "sk", "tombstone"],
        )
        return {_pair(item.sk) for item in found if item.tombstone}

    def all_tombstoned(self, account: str) -> set[RecordKey]:
        model = self.tables.records
        return {
            _pair(item.sk)
            for item in model.query(
                account,
                filter_condition=model.tombstone == True,  # noqa: E712 (a condition)
            )
        }

    @retry_throttled
    def count_records(self, account: str, object_type: str) -> int:
        """How many records of a type the account has (a key-only query, no items returned)."""
        model = self.tables.records
        return int(
            model.count(
                account,
                model.sk.startswith(join_key(object_type) + "#"),
                filter_condition=_visible_records(model),
            )
        )

    @retry_throttled
    def records_after(
        self, account: str, object_type: str, after: str | None, limit: int
    ) -> list[Record]:
        model = self.tables.records
        prefix = join_key(object_type) + "#"
        keys: Condition
        if after is None:
            keys = model.sk.startswith(prefix)
        else:  # strictly after, within the type (the highest code point closes the range)
            keys = model.sk.between(join_key(object_type, after) + "\x00", prefix + "\U0010ffff")
        found = model.query(account, keys, filter_condition=_visible_records(model), limit=limit)
        return [_record(item) for item in found]

    def all_records(self, account: str) -> Iterator[Record]:
        return (stored.record for stored in self.all_stored_records(account))

    def all_stored_records(self, account: str) -> Iterator[StoredRecord]:
        model = self.tables.records
        for item in model.query(account, filter_condition=_visible_records(model)):
            yield _stored_record(item)

    def put_association(self, account: str, line: AssociationLine) -> None:
        with self.tables.associations.batch_write() as batch:
            for sk in association_keys(line):
                batch.save(
                    self.tables.associations(
                        account, sk, labels=list(line.labels), updated_at=now()
                    )
                )

    @retry_throttled
    def associations_of(self, account: str, key: RecordKey) -> list[AssociationLine]:
        model = self.tables.associations
        prefix = join_key(*key) + "#"
        return [
            _association(item)
            for item in model.query(
                account,
                model.sk.startswith(prefix),
                filter_condition=model.removed.does_not_exist(),
            )
        ]

    @retry_throttled
    def stored_links_of(self, account: str, key: RecordKey) -> list[tuple[AssociationLine, str]]:
        model = self.tables.associations
        return [
            (_association(item), item.stamp or "")
            for item in model.query(
                account,
                model.sk.startswith(join_key(*key) + "#"),
                filter_condition=model.removed.does_not_exist(),
            )
        ]

    @retry_throttled
    def link_registers_of(
        self, account: str, key: RecordKey
    ) -> list[tuple[AssociationLine, StoredLink]]:
        model = self.tables.associations
        registers = []
        for item in model.query(account, model.sk.startswith(join_key(*key) + "#")):
            registers.append((_association(item), _register(item)))
        return registers

    def all_associations(self, account: str) -> Iterator[AssociationLine]:
        """Each link once (the direction stored with the smaller key)."""
        model = self.tables.associations
        links = model.labels.exists() & model.removed.does_not_exist()  # not the records
        for item in model.query(account, filter_condition=links):
            line = _association(item)
            if (line.from_type, line.from_id) <= (line.to_type, line.to_id):
                yield line

    @retry_throttled
    def association_labels(self, account: str, line: AssociationLine) -> tuple[str, ...] | None:
        """The labels of the stored link between the line's two records; None when unlinked."""
        found = self.stored_link(account, line)
        return None if found is None or not found.visible else found.labels

    @retry_throttled
    def stored_link(self, account: str, line: AssociationLine) -> StoredLink | None:
        item = _get(self.tables.associations, account, association_keys(line)[0])
        if item is None:
            return None
        return _register(item)

    def event_item(self, account: str, event: Event) -> EventItem:
        return self.tables.events(
            account,
            join_key(event.object_type, event.object_id, event.id),
            event_type=event.type,
            occurred_at_ms=int(event.occurred_at.timestamp() * 1000),
            properties=dict(event.properties),
            received_at=now(),
        )

    @retry_throttled
    def events_of(self, account: str, key: RecordKey) -> list[Event]:
        prefix = join_key(*key) + "#"
        return [
            _event(item)
            for item in self.tables.events.query(account, self.tables.events.sk.startswith(prefix))
        ]

    def all_events(self, account: str) -> Iterator[Event]:
        for item in self.tables.events.query(account):
            yield _event(item)

    def put_event(self, account: str, event: Event) -> bool:
        """Store the event once per (owner, id): True if stored, False if it already was."""
        item = self.event_item(account, event)
        try:
            item.save(condition=self.tables.events.pk.does_not_exist())
        except PutError as error:
            if refused_by_condition(error):
                return False
            raise
        return True

    def put_segment(self, account: str, body: Mapping[str, Any]) -> None:
        """Write a segment as it is, whatever is stored (loading data; the segments use case
        writes with version checks)."""
        item = self.tables.segments(account, str(body["id"]), body=dict(body), updated_at=now())
        item.save(add_version_condition=False)
        self.tables.live_markers(account, LIVE_MARKER).update(
            actions=[self.tables.live_markers.marker.add(1)]
        )

    def segment_bodies(self, account: str) -> list[dict[str, Any]]:
        return [dict(s.body) for s in self.tables.segments.query(account)]

    @retry_throttled
    def segment_list(self, account: str) -> list[Segment]:
        from healthscore.adapters.dataset_files import parse_segment

        return [parse_segment(s.body) for s in self.tables.segments.query(account)]

    def dataset(self, account: str) -> Dataset:
        """The whole account as a Dataset (segments included)."""
        return whole_account(self, account)

    def neighbourhood(self, account: str, key: RecordKey, contacts_events: bool) -> Dataset:
        """One record, its associated records and the events scoring it can read."""
        return record_neighbourhood(self, account, key, contacts_events)

    # -- scores (history and the sweep checkpoint: dynamo_history.py) -------------------------

    @retry_throttled
    def score(self, account: str, definition_id: str, key: RecordKey) -> ScoreState | None:
        item = _get(self.tables.scores, join_key(account, definition_id), join_key(*key))
        return None if item is None else state_of(item)

    def scores(self, account: str, definition_id: str) -> Iterator[ScoreState]:
        for item in self.tables.scores.query(join_key(account, definition_id)):
            yield state_of(item)

    @retry_throttled
    def score_page(
        self, account: str, definition_id: str, after: RecordKey | None, limit: int
    ) -> list[ScoreState]:
        scores = self.tables.scores
        condition = scores.sk > join_key(*after) if after is not None else None
        query = scores.query(join_key(account, definition_id), condition, limit=limit)
        return [state_of(item) for item in query]

    @retry_throttled
    def score_states(
        self, account: str, wanted: Iterable[tuple[str, RecordKey]]
    ) -> dict[tuple[str, RecordKey], ScoreState]:
        """Score states by (definition id, record key), in one BatchGetItem (≤ 100 keys)."""
        keys = sorted({(join_key(account, d), join_key(*key)) for d, key in wanted})
        if not keys:
            return {}
        found = {}
        for item in self.tables.scores.batch_get(keys, consistent_read=True):
            state = state_of(item)
            found[(state.definition_id, state.key)] = state
        return found

    def due_states(self, day: date) -> Iterator[tuple[str, ScoreState]]:
        """Every account's score states whose next change day is `day`, with the account each
        belongs to: the sparse index names them (keys only), a batch read per 100 reads them."""
        keys = ((item.pk, item.sk) for item in self.tables.scores.due.query(day.isoformat()))
        for chunk in _chunks(keys, 100):
            found = {(i.pk, i.sk): i for i in self._batch_get_states(chunk)}
            for key in chunk:  # in the index's order; one rescored since may be gone
                item = found.get(key)
                if item is not None and item.due_day == day.isoformat():
                    yield split_key(item.pk)[0], state_of(item)

    @retry_throttled
    def _batch_get_states(self, keys: list[tuple[str, str]]) -> list[ScoreItem]:
        """Eventually consistent (half the read units): a state read stale is written on its
        version condition, refused, and read again by the sweep."""
        return list(self.tables.scores.batch_get(keys, consistent_read=False))

    def save_state(self, account: str, state: ScoreState) -> None:
        """Write one state on its own, if it is still at the version read (else Conflict)."""
        self.save(state_item(self.tables, account, state))

    def change_writes(self, account: str) -> DynamoChangeWrites:
        """A unit of work for one change to the account: all its writes in one transaction."""
        return DynamoChangeWrites(self.tables, self._connection, account)

    def delete_scores(self, account: str, definition_id: str) -> int:
        deleted = 0
        with self.tables.scores.batch_write() as batch:
            for item in self.tables.scores.query(join_key(account, definition_id)):
                batch.delete(item)
                deleted += 1
        return deleted


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _visible_records(model: type[RecordItem]) -> Condition:
    """Record items, not tombstones and not the links stored beside them."""
    return cast(Condition, model.record_id.exists() & model.tombstone.does_not_exist())


def _register(item: AssociationItem) -> StoredLink:
    hidden = item.hidden_at or ""
    labels = tuple(str(v) for v in item.labels or [])
    return StoredLink(None if item.removed and not hidden else labels, item.stamp or "", hidden)


def _pair(sk: str) -> RecordKey:
    object_type, record_id = split_key(sk)
    return (object_type, record_id)


def _stored_record(item: RecordItem) -> StoredRecord:
    return StoredRecord(
        _record(item),
        {name: legacy_stamp(v) for name, v in (item.property_times or {}).items()},
        None if item.version is None else int(item.version),
        item.alive or "",
        item.deleted or "",
        item.merged_into,
    )


def _record(item: RecordItem) -> Record:
    return Record(
        object_type=item.object_type,
        id=item.record_id,
        properties=dict(item.properties or {}),
        lists=frozenset(str(v) for v in item.lists or []),
    )


def _association(item: AssociationItem) -> AssociationLine:
    from_type, from_id, to_type, to_id = split_key(item.sk)
    return AssociationLine(
        from_type, from_id, to_type, to_id, tuple(str(v) for v in item.labels or [])
    )


def _event(item: EventItem) -> Event:
    object_type, object_id, event_id = split_key(item.sk)
    return Event(
        id=event_id,
        type=item.event_type,
        occurred_at=datetime.fromtimestamp(int(item.occurred_at_ms) / 1000, UTC),
        object_type=object_type,
        object_id=object_id,
        properties=dict(item.properties or {}),
    )
