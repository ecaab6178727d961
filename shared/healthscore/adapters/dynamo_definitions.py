"""Health scores, segments, jobs and output properties in DynamoDB (the DefinitionStore port),
as domain objects: every save is conditional on the version read (a lost race is a Conflict).
DynamoStore builds on this for the account's data and score states."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from healthscore.adapters.dynamo_tables import (
    LIVE_MARKER,
    PLAN_GUARD,
    DefinitionItem,
    SegmentItem,
    Tables,
)
from healthscore.adapters.dynamo_writes import retry_throttled
from healthscore.domain.errors import Conflict
from healthscore.domain.lifecycle import Job, StoredDefinition, StoredSegment
from healthscore.ports import live_score, live_scores_in

JOB_RETENTION = timedelta(days=30)  # jobs expire (TTL) this long after their last save


def now() -> datetime:
    return datetime.now(UTC)


def refused_by_condition(error: PutError | DeleteError) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


class DynamoDefinitionStore:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    # -- saving with optimistic locking --------------------------------------------------------

    @staticmethod
    def save(item: Model) -> None:
        """Save; the version attribute makes it conditional. A lost race is a Conflict."""
        try:
            item.save()
        except PutError as error:
            if refused_by_condition(error):
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
            if refused_by_condition(error):
                raise Conflict("this item was changed by someone else since you read it") from error
            raise

    # -- definitions ---------------------------------------------------------------------------

    @retry_throttled
    def definitions(self, account: str) -> list[StoredDefinition]:
        return [_definition(item) for item in self._definition_items(account)]

    @retry_throttled
    def definition(self, account: str, definition_id: str) -> StoredDefinition | None:
        item = _get(self.tables.definitions, account, definition_id)
        return None if item is None else _definition(item)

    def save_definition(self, account: str, definition: StoredDefinition) -> None:
        """Write it if it is still at the version read (a new one: if none exists); sets the
        new version on `definition`. A stale read is a Conflict."""
        item = self._definition_item(account, definition)
        self._with_marker(account, lambda write: write.save(item))
        definition.version = int(item.version)

    def _with_marker(self, account: str, write: Callable[[TransactWrite], None]) -> None:
        """Commit `write` and move the account's live marker on, in one transaction (scorers
        then know their parsed definitions and segments are out of date). A lost race is a
        Conflict."""
        marker = self.tables.live_markers(account, LIVE_MARKER)
        try:
            with TransactWrite(connection=self._transactions()) as transaction:
                write(transaction)
                transaction.update(marker, actions=[self.tables.live_markers.marker.add(1)])
        except TransactWriteError as error:
            if error.cause_response_code in (
                "TransactionCanceledException",
                "TransactionConflictException",
            ):
                raise Conflict(
                    "this item was changed by someone else since you read it; "
                    "read it again and retry"
                ) from error
            raise

    def _transactions(self) -> Connection:
        meta: Any = self.tables.jobs.Meta
        return Connection(region=meta.region, host=getattr(meta, "host", None))

    @retry_throttled
    def live_marker(self, account: str) -> int:
        """Where the account's live marker is (0: nothing was ever saved)."""
        item = _get(self.tables.live_markers, account, LIVE_MARKER)
        return 0 if item is None else int(item.marker or 0)

    def _definition_item(self, account: str, definition: StoredDefinition) -> DefinitionItem:
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
        return item

    @retry_throttled
    def plan_guard(self, account: str) -> int:
        item = _get(self.tables.plan_guards, account, PLAN_GUARD)
        return 0 if item is None else int(item.version or 0)

    def save_definition_guarded(
        self, account: str, definition: StoredDefinition, guard: int
    ) -> None:
        """Save it (at the version read) and move the account's plan guard on from `guard`,
        in one transaction: a concurrent change that read the same guard gets a Conflict."""
        item = self._definition_item(account, definition)
        guard_item = self.tables.plan_guards(account, PLAN_GUARD)
        if guard:
            guard_item.version = guard
        marker = self.tables.live_markers(account, LIVE_MARKER)
        try:
            with TransactWrite(connection=self._transactions()) as write:
                write.save(item)
                write.save(guard_item)
                write.update(marker, actions=[self.tables.live_markers.marker.add(1)])
        except TransactWriteError as error:
            if error.cause_response_code in (
                "TransactionCanceledException",
                "TransactionConflictException",
            ):
                raise Conflict(
                    "another change to this account's health scores landed at the same time; "
                    "read them again and retry"
                ) from error
            raise
        definition.version = int(item.version)

    def delete_definition(self, account: str, definition: StoredDefinition) -> None:
        item = self.tables.definitions(account, definition.id)
        if definition.version is not None:
            item.version = definition.version
        self._with_marker(account, lambda write: write.delete(item))

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
        self._with_marker(account, lambda write: write.save(item))
        segment.version = int(item.version)

    def delete_segment(self, account: str, segment: StoredSegment) -> None:
        item = self.tables.segments(account, segment.id)
        if segment.version is not None:
            item.version = segment.version
        self._with_marker(account, lambda write: write.delete(item))

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

    @retry_throttled
    def live_definition(
        self, account: str, definition_id: str
    ) -> tuple[dict[str, Any], int] | None:
        return live_score(self, account, definition_id)

    @retry_throttled
    def live_definitions(self, account: str) -> list[tuple[str, int, dict[str, Any]]]:
        return live_scores_in(self, account)

    def accounts_with_live_scores(self) -> list[str]:
        """A Scan of the definitions table, keys and state only: a few items per account, read
        once a night (the live marker items would need an index to be listed)."""
        model = self.tables.definitions
        return sorted(
            {item.pk for item in model.scan(model.state == "live", attributes_to_get=["pk"])}
        )

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
            expires_at=datetime.now(UTC) + JOB_RETENTION,  # TTL runs on the wall clock
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


def _get(model: type[M], pk: str, sk: str) -> M | None:
    try:
        return model.get(pk, sk)
    except model.DoesNotExist:
        return None


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
