"""The account's data in DynamoDB: every read and write the services make, keyed by account.

Each method takes the account id first and builds keys from it, so one account's calls can only
reach that account's partition keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError
from pynamodb.models import Model

from healthscore.adapters.cursors import decode_cursor, encode_cursor
from healthscore.adapters.dynamo_tables import (
    AssociationItem,
    DefinitionItem,
    EventItem,
    RecordItem,
    SegmentItem,
    Tables,
    join_key,
    split_key,
)
from healthscore.adapters.dynamo_writes import (
    DynamoChangeWrites,
    association_keys,
    history_item,
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
    StoredRecord,
)
from healthscore.domain.errors import (
    Conflict,
)
from healthscore.domain.lifecycle import Job, StoredDefinition, StoredSegment
from healthscore.domain.score_state import ScoreState
from healthscore.ports import record_neighbourhood, whole_account


def now() -> datetime:
    return datetime.now(UTC)


def _conditional_failed(error: PutError | DeleteError) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


class DynamoStore:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        meta: Any = tables.scores.Meta
        self._connection = Connection(region=meta.region, host=getattr(meta, "host", None))

    # -- saving with optimistic locking --------------------------------------------------------

    @staticmethod
    def save(item: Model) -> None:
        """Save; the version attribute makes it conditional. A lost race is a Conflict."""
        try:
            item.save()
        except PutError as error:
            if _conditional_failed(error):
                raise Conflict(
                    "this item was changed by someone else since you read it; "
                    "read it again and retry"
                ) from error
            raise

    @staticmethod
    def delete(item: Model) -> None:
        try:
            item.delete()
        except DeleteError as error:
            if _conditional_failed(error):
                raise Conflict("this item was changed by someone else since you read it") from error
            raise

    # -- definitions ---------------------------------------------------------------------------

    def definitions(self, account: str) -> list[StoredDefinition]:
        return [_definition(item) for item in self._definition_items(account)]

    def definition(self, account: str, definition_id: str) -> StoredDefinition | None:
        item = _get(self.tables.definitions, account, definition_id)
        return None if item is None else _definition(item)

    def save_definition(self, account: str, definition: StoredDefinition) -> None:
        """Write it if it is still at the version read (a new one: if none exists); sets the
        new version on `definition`. A stale read is a Conflict."""
        item = self.tables.definitions(
            account,
            definition.id,
            name=definition.name,
            object_type=definition.object_type,
            state=definition.state,
            draft=definition.draft,
            draft_revision=definition.draft_revision,
            live=definition.live,
            live_revision=definition.live_revision,
            created_at=definition.created_at,
            updated_at=definition.updated_at,
            updated_by=definition.updated_by,
            last_job=definition.last_job,
        )
        if definition.version is not None:
            item.version = definition.version
        self.save(item)
        definition.version = int(item.version)

    def delete_definition(self, account: str, definition: StoredDefinition) -> None:
        item = self.tables.definitions(account, definition.id)
        if definition.version is not None:
            item.version = definition.version
        self.delete(item)

    def _definition_items(self, account: str) -> list[DefinitionItem]:
        return list(self.tables.definitions.query(account))

    # -- segments ------------------------------------------------------------------------------

    def stored_segments(self, account: str) -> list[StoredSegment]:
        return [_segment(item) for item in self.tables.segments.query(account)]

    def stored_segment(self, account: str, segment_id: str) -> StoredSegment | None:
        item = _get(self.tables.segments, account, segment_id)
        return None if item is None else _segment(item)

    def save_segment(self, account: str, segment: StoredSegment) -> None:
        """Write it if it is still at the version read; sets the new version on `segment`."""
        item = self.tables.segments(
            account, segment.id, body=segment.body, updated_at=segment.updated_at
        )
        if segment.version is not None:
            item.version = segment.version
        self.save(item)
        segment.version = int(item.version)

    def delete_segment(self, account: str, segment: StoredSegment) -> None:
        item = self.tables.segments(account, segment.id)
        if segment.version is not None:
            item.version = segment.version
        self.delete(item)

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

    def stored_record(self, account: str, key: RecordKey) -> StoredRecord | None:
        """The record with when each property was set and its version (for a change to it)."""
        item = _get(self.tables.records, account, join_key(*key))
        if item is None:
            return None
        return StoredRecord(
            _record(item),
            dict(item.property_times or {}),
            None if item.version is None else int(item.version),
        )

    def record(self, account: str, key: RecordKey) -> Record | None:
        item = _get(self.tables.records, account, join_key(*key))
        return None if item is None else _record(item)

    def records(self, account: str, keys: Iterable[RecordKey]) -> list[Record]:
        wanted = sorted(set(keys))
        found = self.tables.records.batch_get([(account, join_key(*k)) for k in wanted])
        return [_record(item) for item in found]

    def count_records(self, account: str, object_type: str) -> int:
        """How many records of a type the account has (a key-only query, no items returned)."""
        return int(
            self.tables.records.count(
                account, self.tables.records.sk.startswith(join_key(object_type) + "#")
            )
        )

    def all_records(self, account: str) -> Iterator[Record]:
        for item in self.tables.records.query(account):
            yield _record(item)

    def put_association(self, account: str, line: AssociationLine) -> None:
        with self.tables.associations.batch_write() as batch:
            for sk in association_keys(line):
                batch.save(
                    self.tables.associations(
                        account, sk, labels=list(line.labels), updated_at=now()
                    )
                )

    def associations_of(self, account: str, key: RecordKey) -> list[AssociationLine]:
        prefix = join_key(*key) + "#"
        return [
            _association(item)
            for item in self.tables.associations.query(
                account, self.tables.associations.sk.startswith(prefix)
            )
        ]

    def all_associations(self, account: str) -> Iterator[AssociationLine]:
        """Each link once (the direction stored with the smaller key)."""
        for item in self.tables.associations.query(account):
            line = _association(item)
            if (line.from_type, line.from_id) <= (line.to_type, line.to_id):
                yield line

    def association_labels(self, account: str, line: AssociationLine) -> tuple[str, ...] | None:
        """The labels of the stored link between the line's two records; None when unlinked."""
        item = _get(self.tables.associations, account, association_keys(line)[0])
        return None if item is None else tuple(str(v) for v in item.labels or [])

    def event_item(self, account: str, event: Event) -> EventItem:
        return self.tables.events(
            account,
            join_key(event.object_type, event.object_id, event.id),
            event_type=event.type,
            occurred_at_ms=int(event.occurred_at.timestamp() * 1000),
            properties=dict(event.properties),
            received_at=now(),
        )

    def delete_events(self, account: str, key: RecordKey) -> int:
        deleted = 0
        with self.tables.events.batch_write() as batch:
            for item in self.tables.events.query(
                account, self.tables.events.sk.startswith(join_key(*key) + "#")
            ):
                batch.delete(item)
                deleted += 1
        return deleted

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
            if _conditional_failed(error):
                return False
            raise
        return True

    def put_segment(self, account: str, body: Mapping[str, Any]) -> None:
        """Write a segment as it is, whatever is stored (loading data; the segments use case
        writes with version checks)."""
        self.tables.segments(account, str(body["id"]), body=dict(body), updated_at=now()).save(
            add_version_condition=False
        )

    def segment_bodies(self, account: str) -> list[dict[str, Any]]:
        return [dict(s.body) for s in self.tables.segments.query(account)]

    def segment_list(self, account: str) -> list[Segment]:
        from healthscore.adapters.dataset_files import parse_segment

        return [parse_segment(s.body) for s in self.tables.segments.query(account)]

    def dataset(self, account: str) -> Dataset:
        """The whole account as a Dataset (segments included)."""
        return whole_account(self, account)

    def neighbourhood(self, account: str, key: RecordKey, contacts_events: bool) -> Dataset:
        """One record, its associated records and the events scoring it can read."""
        return record_neighbourhood(self, account, key, contacts_events)

    # -- scores and history --------------------------------------------------------------------

    def score(self, account: str, definition_id: str, key: RecordKey) -> ScoreState | None:
        item = _get(self.tables.scores, join_key(account, definition_id), join_key(*key))
        return None if item is None else state_of(item)

    def scores(self, account: str, definition_id: str) -> Iterator[ScoreState]:
        for item in self.tables.scores.query(join_key(account, definition_id)):
            yield state_of(item)

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
        """Every account's score states whose next change day is `day` (the sparse index), with
        the account each belongs to."""
        for item in self.tables.scores.due.query(day.isoformat()):
            yield split_key(item.pk)[0], state_of(item)

    def save_state(self, account: str, state: ScoreState) -> None:
        """Write one state on its own, if it is still at the version read (else Conflict)."""
        self.save(state_item(self.tables, account, state))

    def change_writes(self, account: str) -> DynamoChangeWrites:
        """A unit of work for one change to the account: all its writes in one transaction."""
        return DynamoChangeWrites(self.tables, self._connection, account)

    def put_live_definition(
        self, account: str, definition_id: str, raw: Mapping[str, Any], revision: int
    ) -> None:
        at = now()
        stored = self.definition(account, definition_id) or StoredDefinition(
            definition_id, raw["name"], raw["object_type"], "live", at, at, "loader"
        )
        stored.state, stored.live, stored.live_revision = "live", dict(raw), revision
        stored.updated_at = at
        self.save_definition(account, stored)

    def live_definition(
        self, account: str, definition_id: str
    ) -> tuple[dict[str, Any], int] | None:
        found = self.definition(account, definition_id)
        if found is None or found.live is None or found.state != "live":
            return None
        return dict(found.live), found.live_revision

    def live_definitions(self, account: str) -> list[tuple[str, int, dict[str, Any]]]:
        """(id, live revision, the live revision's JSON) of the account's live scores."""
        return [
            (d.id, d.live_revision, dict(d.live))
            for d in self.definitions(account)
            if d.state == "live" and d.live
        ]

    def sweep_checkpoint(self) -> date | None:
        item = _get(self.tables.jobs, SWEEP_KEY, "checkpoint")
        return None if item is None else date.fromisoformat(item.detail["day"])

    def save_sweep_checkpoint(self, day: date) -> None:
        at = now()
        self.tables.jobs(
            SWEEP_KEY,
            "checkpoint",
            kind="sweep",
            status="succeeded",
            detail={"day": day.isoformat()},
            created_at=at,
            updated_at=at,
        ).save()

    def delete_scores(self, account: str, definition_id: str) -> int:
        deleted = 0
        with self.tables.scores.batch_write() as batch:
            for item in self.tables.scores.query(join_key(account, definition_id)):
                batch.delete(item)
                deleted += 1
        return deleted

    def append_history(
        self, account: str, definition_id: str, key: RecordKey, at: datetime, entry: dict[str, Any]
    ) -> None:
        history_item(self.tables, account, definition_id, key, at, entry).save()

    def history(
        self,
        account: str,
        definition_id: str,
        key: RecordKey,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        pk = join_key(account, definition_id, *key)
        start = decode_cursor(cursor, pk)
        result = self.tables.history.query(
            pk, scan_index_forward=False, limit=limit, last_evaluated_key=start
        )
        entries = [item.entry for item in result]
        return entries, encode_cursor(result.last_evaluated_key)

    # -- output properties and jobs ------------------------------------------------------------

    def output_properties(self, account: str) -> list[dict[str, Any]]:
        return [item.entry for item in self.tables.output_properties.query(account)]

    def output_property(self, account: str, name: str) -> dict[str, Any] | None:
        item = _get(self.tables.output_properties, account, name)
        return None if item is None else dict(item.entry)

    def register_output_property(self, account: str, entry: dict[str, Any]) -> None:
        self.tables.output_properties(account, entry["name"], entry=entry).save()

    def unregister_output_properties(self, account: str, definition_id: str) -> None:
        with self.tables.output_properties.batch_write() as batch:
            for item in self.tables.output_properties.query(account):
                if item.entry.get("definition_id") == definition_id:
                    batch.delete(item)

    def save_job(self, account: str, job: Job) -> None:
        """Write the job (kept for JOB_RETENTION after it was created)."""
        self.tables.jobs(
            account,
            job.id,
            kind=job.kind,
            status=job.status,
            definition_id=job.definition_id,
            detail=job.detail,
            created_at=job.created_at,
            updated_at=job.updated_at,
            expires_at=job.created_at + JOB_RETENTION,
        ).save()

    def job(self, account: str, job_id: str) -> Job | None:
        item = _get(self.tables.jobs, account, job_id)
        if item is None:
            return None
        return Job(
            item.sk,
            item.kind,
            item.status,
            item.created_at,
            item.updated_at,
            item.definition_id,
            dict(item.detail or {}),
        )


M = TypeVar("M", bound=Model)
JOB_RETENTION = timedelta(days=30)  # jobs expire (TTL) this long after they were created
SWEEP_KEY = "#sweep"  # the sweep's own jobs item (account ids never contain `#`)


def _get(model: type[M], pk: str, sk: str) -> M | None:
    try:
        return model.get(pk, sk)
    except model.DoesNotExist:
        return None


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


def _definition(item: DefinitionItem) -> StoredDefinition:
    return StoredDefinition(
        id=item.sk,
        name=item.name,
        object_type=item.object_type,
        state=item.state,
        created_at=item.created_at,
        updated_at=item.updated_at,
        updated_by=item.updated_by,
        draft=item.draft,
        draft_revision=int(item.draft_revision or 0),
        live=item.live,
        live_revision=int(item.live_revision or 0),
        last_job=item.last_job,
        version=None if item.version is None else int(item.version),
    )


def _segment(item: SegmentItem) -> StoredSegment:
    return StoredSegment(
        item.sk,
        dict(item.body),
        item.updated_at,
        None if item.version is None else int(item.version),
    )
