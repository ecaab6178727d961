"""The storage ports the use cases need, in the domain's own terms: what goes in and comes out is
a `Record`, an `AssociationLine`, an `Event`, a `Segment` or a `Dataset` — never a storage row.

Two adapters implement each port: DynamoDB (adapters/dynamo_store.py, the deployment) and memory
(adapters/memory_store.py, for fast use-case tests and notebooks); tests/contract runs one suite
of behaviours against memory, moto and DynamoDB Local, so the fake cannot drift from the real.

Every method takes the account first: one account's calls only ever reach that account's data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

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
from healthscore.domain.integrations import HubSpotConnection
from healthscore.domain.lifecycle import Job, StoredDefinition, StoredSegment
from healthscore.domain.score_state import ScoreState
from healthscore.domain.snapshots import ALL, DailySnapshot


class AccountData(Protocol):
    """An account's records, their associations (both directions) and their events.

    Orders are the storage's key order: records by (object type, id), a record's links by the
    other end, events by (owner, id). Event instants keep millisecond precision, in UTC;
    properties round-trip as JSON values."""

    def put_record(self, account: str, record: Record) -> None:
        """Write the record as it is (loading data; changes that rescore go through the
        incremental scorer)."""

    def record(self, account: str, key: RecordKey) -> Record | None: ...

    def records(self, account: str, keys: Iterable[RecordKey]) -> list[Record]:
        """The stored ones among `keys`, in no particular order."""

    def all_records(self, account: str) -> Iterator[Record]: ...

    def all_stored_records(self, account: str) -> Iterator[StoredRecord]:
        """Every visible record with the stamps of its properties' last changes."""

    def count_records(self, account: str, object_type: str) -> int: ...

    def records_after(
        self, account: str, object_type: str, after: str | None, limit: int
    ) -> list[Record]:
        """Up to `limit` visible records of a type in id order, after the id `after`."""

    def put_association(self, account: str, line: AssociationLine) -> None:
        """Link both ends with exactly `line.labels` (replacing the link's labels)."""

    def associations_of(self, account: str, key: RecordKey) -> list[AssociationLine]:
        """The record's links, each from the record's side (`from` is `key`)."""

    def all_associations(self, account: str) -> Iterator[AssociationLine]:
        """Each link once, from the end with the smaller (type, id)."""

    def association_labels(self, account: str, line: AssociationLine) -> tuple[str, ...] | None:
        """The labels of the stored link between the line's two ends; None when unlinked."""

    def stored_link(self, account: str, line: AssociationLine) -> StoredLink | None:
        """The link's register between the line's two ends (a removed link's tombstone too);
        None when nothing was ever stored for the pair."""

    def stored_links_of(self, account: str, key: RecordKey) -> list[tuple[AssociationLine, str]]:
        """The record's links (from its side) with the stamp of each one's register."""

    def link_registers_of(
        self, account: str, key: RecordKey
    ) -> list[tuple[AssociationLine, StoredLink]]:
        """Every link register the record holds (from its side): links and removals' tombstones."""

    def tombstoned(self, account: str, keys: Iterable[RecordKey]) -> set[RecordKey]:
        """Which of the records are tombstoned (deleted, not back since): their events are kept
        but do not count."""

    def all_tombstoned(self, account: str) -> set[RecordKey]: ...

    def put_event(self, account: str, event: Event) -> bool:
        """Store the event once per (owner, id): True if stored, False if it already was."""

    def events_of(self, account: str, key: RecordKey) -> list[Event]: ...

    def all_events(self, account: str) -> Iterator[Event]: ...

    def put_segment(self, account: str, body: Mapping[str, Any]) -> None:
        """Write a segment as it is (loading data; the segments use case checks versions)."""

    def segment_list(self, account: str) -> list[Segment]: ...

    def segment_bodies(self, account: str) -> list[dict[str, Any]]:
        """The segments as they were written (JSON), for exports."""

    def dataset(self, account: str) -> Dataset:
        """The whole account (segments included)."""

    def neighbourhood(self, account: str, key: RecordKey, contacts_events: bool) -> Dataset:
        """One record, its associated records, its events (and, with `contacts_events`, the
        events of its associated contacts) and the account's segments: all that scoring that
        record can read."""


MAX_TRANSACTION_ITEMS = 100  # a change's writes, at most (DynamoDB's TransactWriteItems limit)


class WriteRefused(Exception):
    """A change's writes were refused whole (a condition failed: someone changed a record,
    link or state since it was read, or the score went to another revision). `codes` has one
    entry per write where the store reports them; `duplicate` when the change's event was
    already stored, i.e. the change was applied before."""

    def __init__(self, codes: list[str | None], duplicate: bool = False) -> None:
        super().__init__(", ".join(c or "-" for c in codes))
        self.codes = codes
        self.duplicate = duplicate


class TooManyAffected(ValueError):
    """A change touches more items than one transaction can hold."""


class ChangeWrites(Protocol):
    """The writes of one change to one account: all of them, or none (a unit of work)."""

    def __len__(self) -> int: ...

    def put_event_once(self, event: Event) -> None:
        """Store the event; if it is already stored, the change was applied before."""

    def put_record(self, stored: StoredRecord, at: datetime) -> None:
        """Write the record — visible, or a tombstone when `stored` is not visible — if it is
        still at the version read."""

    def set_link(self, line: AssociationLine, was: str | None, stamp: str, at: datetime) -> None:
        """Both directions get `line.labels` and `stamp`, if the link's register still has the
        stamp read (`was`; None: nothing may be stored for the pair yet)."""

    def remove_link(self, line: AssociationLine, was: str | None, stamp: str | None) -> None:
        """Both directions become a tombstone with `stamp` (None: go entirely), if the link's
        register still has the stamp read (`was`)."""

    def hide_link(
        self, line: AssociationLine, was: str | None, deleted: str, stamp: str | None = None
    ) -> None:
        """Both directions hidden by their end's deletion stamped `deleted` (labels kept, and
        the stamp read unless `stamp` is given), if the register still has the stamp read."""

    def put_state(self, state: ScoreState) -> None:
        """Write the score state, if it is still at the version read."""

    def mark_applied(self, stamp: str, definition_id: str, key: RecordKey) -> None:
        """Record that the change stamped `stamp` was applied to this score state (a step of a
        change too big for one transaction); refused if it already was."""

    def delete_state(self, state: ScoreState) -> None: ...

    def append_history(
        self, definition_id: str, key: RecordKey, at: datetime, entry: dict[str, Any]
    ) -> None: ...

    def commit(self) -> None:
        """Write everything or nothing; WriteRefused when a condition failed."""


@dataclass(frozen=True)
class RecordLinks:
    """A record item as stored (a tombstone too; None: never stored) and every link register it
    holds, from its side: links, links hidden by a deletion and removals' tombstones."""

    stored: StoredRecord | None
    registers: list[tuple[AssociationLine, StoredLink]] = field(default_factory=list)

    @property
    def links(self) -> list[AssociationLine]:
        """The visible links (`AccountData.associations_of`)."""
        return [line for line, register in self.registers if register.visible]

    @property
    def stamped(self) -> list[tuple[AssociationLine, str]]:
        """The visible links with their stamps (`AccountData.stored_links_of`)."""
        return [(line, r.stamp) for line, r in self.registers if r.visible]


@dataclass(frozen=True)
class Snapshot:
    """One read of what a change needs beside its record: where the account's live marker is,
    and the score states and record items asked for (those that exist)."""

    marker: int
    states: dict[tuple[str, RecordKey], ScoreState] = field(default_factory=dict)
    records: dict[RecordKey, StoredRecord] = field(default_factory=dict)


class SnapshotStore(Protocol):
    """Each live score's daily portfolio aggregates (the nightly run writes them)."""

    def save_snapshots(
        self, account: str, definition_id: str, rows: Sequence[DailySnapshot]
    ) -> None:
        """Keep the rows (a row of the same day and segment is replaced)."""

    def snapshots(
        self, account: str, definition_id: str, since: date, segment: str = ALL
    ) -> list[DailySnapshot]:
        """The segment's rows from `since` on, oldest first."""


class ScoreStore(AccountData, SnapshotStore, Protocol):
    """What the scorer, the sweep and the recompute read and write: the account's data, its live
    revisions, score states, history, and units of work for changes."""

    def put_live_definition(
        self, account: str, definition_id: str, raw: Mapping[str, Any], revision: int
    ) -> None:
        """Make the score live at `revision` (loading data and tests; the API's lifecycle
        goes through the definitions use case)."""

    def live_definitions(self, account: str) -> list[tuple[str, int, dict[str, Any]]]:
        """(id, live revision, its JSON) of each live score of the account."""

    def accounts_with_live_scores(self) -> list[str]:
        """Every account with at least one live score, sorted (the nightly run's list)."""

    def live_definition(
        self, account: str, definition_id: str
    ) -> tuple[dict[str, Any], int] | None:
        """(JSON, revision) of the score if it is live."""

    def stored_record(self, account: str, key: RecordKey) -> StoredRecord | None: ...

    def live_marker(self, account: str) -> int:
        """A number that moves on with every change to the account's health scores and
        segments (0 before the first): a cache of the parsed live scores is current while the
        marker is where it was read."""

    def record_links(self, account: str, key: RecordKey) -> RecordLinks:
        """The record item and every link register it holds, in one strongly consistent read."""

    def snapshot(
        self,
        account: str,
        states: Iterable[tuple[str, RecordKey]] = (),
        records: Iterable[RecordKey] = (),
        consistent: bool = False,
    ) -> Snapshot:
        """The live marker, these score states and these record items (tombstones too) in one
        read (≤ 99 keys). Records are read current; the marker and the states may be a moment
        old unless `consistent` — a state's write is conditional on the version read, so a stale
        one is refused and read again, and a scorer commits within `ATTEMPT_SECONDS` of its
        read of the marker, however old the marker it read."""

    def score_states(
        self, account: str, wanted: Iterable[tuple[str, RecordKey]]
    ) -> dict[tuple[str, RecordKey], ScoreState]:
        """Score states by (definition id, record key); fresh copies the caller may change."""

    def score(self, account: str, definition_id: str, key: RecordKey) -> ScoreState | None: ...

    def scores(self, account: str, definition_id: str) -> Iterator[ScoreState]: ...

    def score_page(
        self, account: str, definition_id: str, after: RecordKey | None, limit: int
    ) -> list[ScoreState]:
        """Up to `limit` states in key order, after `after` (None: from the first)."""

    def due_states(self, day: date) -> Iterator[tuple[str, ScoreState]]:
        """Every account's states whose next change day is `day`, with their account."""

    def save_state(self, account: str, state: ScoreState) -> None:
        """Write one state on its own, if it is still at the version read (else Conflict)."""

    def change_writes(self, account: str) -> ChangeWrites: ...

    def applied_targets(
        self, account: str, stamp: str, targets: list[tuple[str, RecordKey]]
    ) -> set[tuple[str, RecordKey]]:
        """Which of the score states the change stamped `stamp` was already applied to."""

    def history(
        self, account: str, definition_id: str, key: RecordKey, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A record's history entries, newest first, a page at a time."""

    def history_at(
        self, account: str, definition_id: str, key: RecordKey, at: datetime
    ) -> dict[str, Any] | None:
        """The last history entry written at or before `at` (what the score was then)."""

    def sweep_checkpoint(self) -> date | None: ...

    def save_sweep_checkpoint(self, day: date) -> None: ...


class DefinitionStore(Protocol):
    """What the definitions and segments use cases keep: health scores with their revisions,
    segments, jobs and output properties. Every save is conditional on the version read
    (Conflict otherwise) and sets the new version on the object saved."""

    def definitions(self, account: str) -> list[StoredDefinition]: ...

    def definition(self, account: str, definition_id: str) -> StoredDefinition | None: ...

    def save_definition(self, account: str, definition: StoredDefinition) -> None: ...

    def plan_guard(self, account: str) -> int:
        """The account's plan guard: read it before counting definitions against the plan."""
        ...

    def save_definition_guarded(
        self, account: str, definition: StoredDefinition, guard: int
    ) -> None:
        """Save it and move the plan guard on, only if the guard is still `guard` (else
        Conflict): of two changes that counted the same definitions, one lands."""
        ...

    def delete_definition(self, account: str, definition: StoredDefinition) -> None: ...

    def stored_segments(self, account: str) -> list[StoredSegment]: ...

    def stored_segment(self, account: str, segment_id: str) -> StoredSegment | None: ...

    def save_segment(self, account: str, segment: StoredSegment) -> None: ...

    def delete_segment(self, account: str, segment: StoredSegment) -> None: ...

    def save_job(self, account: str, job: Job) -> None: ...

    def job(self, account: str, job_id: str) -> Job | None: ...

    def output_properties(self, account: str) -> list[dict[str, Any]]: ...

    def output_property(self, account: str, name: str) -> dict[str, Any] | None: ...

    def register_output_property(self, account: str, entry: dict[str, Any]) -> None: ...

    def unregister_output_properties(self, account: str, definition_id: str) -> None: ...

    def delete_scores(self, account: str, definition_id: str) -> int:
        """Remove every score state of the definition; how many there were."""


class IntegrationStore(Protocol):
    """An account's HubSpot connection, its sync checkpoint, and short leases (one write-back
    at a time per account, so an earlier value is never pushed over a later one)."""

    def hubspot_connection(self, account: str) -> HubSpotConnection | None: ...

    def save_hubspot_connection(self, account: str, connection: HubSpotConnection) -> None: ...

    def delete_hubspot_connection(self, account: str) -> None: ...

    def hubspot_accounts(self) -> list[str]:
        """Every account with a connection (the scheduled sync's list)."""

    def sync_checkpoint(self, account: str) -> dict[str, Any]: ...

    def save_sync_checkpoint(self, account: str, checkpoint: Mapping[str, Any]) -> None: ...

    def take_lease(self, account: str, name: str, holder: str, seconds: float) -> bool:
        """Hold `name` for `seconds` unless someone else holds it unexpired; whether it is ours."""

    def release_lease(self, account: str, name: str, holder: str) -> None: ...


class HealthScoreStore(ScoreStore, DefinitionStore, IntegrationStore, Protocol):
    """Everything the API's use cases read and write."""


def whole_account(data: AccountData, account: str) -> Dataset:
    """`AccountData.dataset`, derived from its other reads the same way for every store: the
    events of tombstoned records are kept but do not count."""
    gone = data.all_tombstoned(account)
    return Dataset(
        records=data.all_records(account),
        associations=data.all_associations(account),
        events=[e for e in data.all_events(account) if e.owner not in gone],
        segments=data.segment_list(account),
    )


def record_neighbourhood(
    data: AccountData, account: str, key: RecordKey, contacts_events: bool, revived: bool = False
) -> Dataset:
    """`AccountData.neighbourhood`, derived from its other reads the same way for every store
    (`revived`: the record, tombstoned in storage, is coming back: its own events count)."""
    links = data.associations_of(account, key)
    others = [(line.to_type, line.to_id) for line in links]
    owners = [key, *(o for o in others if contacts_events and o[0] == "contacts")]
    gone = data.tombstoned(account, owners) - ({key} if revived else set())
    events = [e for owner in owners if owner not in gone for e in data.events_of(account, owner)]
    return Dataset(
        records=data.records(account, [key, *others]),
        associations=links,
        events=events,
        segments=data.segment_list(account),
    )


class _Definitions(Protocol):
    def definitions(self, account: str) -> list[StoredDefinition]: ...

    def definition(self, account: str, definition_id: str) -> StoredDefinition | None: ...


def live_scores_in(store: _Definitions, account: str) -> list[tuple[str, int, dict[str, Any]]]:
    """`ScoreStore.live_definitions`, derived from the stored definitions for every store."""
    return [
        (d.id, d.live_revision, d.live)
        for d in store.definitions(account)
        if d.state == "live" and d.live
    ]


def live_score(
    store: _Definitions, account: str, definition_id: str
) -> tuple[dict[str, Any], int] | None:
    """`ScoreStore.live_definition`, derived from the stored definition for every store."""
    found = store.definition(account, definition_id)
    if found is None or found.live is None or found.state != "live":
        return None
    return found.live, found.live_revision
