"""The storage ports the use cases need, in the domain's own terms: what goes in and comes out is
a `Record`, an `AssociationLine`, an `Event`, a `Segment` or a `Dataset` — never a storage row.

Two adapters implement each port: DynamoDB (adapters/dynamo_store.py, the deployment) and memory
(adapters/memory_store.py, for fast use-case tests and notebooks); tests/contract runs one suite
of behaviours against memory, moto and DynamoDB Local, so the fake cannot drift from the real.

Every method takes the account first: one account's calls only ever reach that account's data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from healthscore.domain.dataset import AssociationLine, Dataset, Event, Record, RecordKey, Segment


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

    def count_records(self, account: str, object_type: str) -> int: ...

    def put_association(self, account: str, line: AssociationLine) -> None:
        """Link both ends with exactly `line.labels` (replacing the link's labels)."""

    def associations_of(self, account: str, key: RecordKey) -> list[AssociationLine]:
        """The record's links, each from the record's side (`from` is `key`)."""

    def all_associations(self, account: str) -> Iterator[AssociationLine]:
        """Each link once, from the end with the smaller (type, id)."""

    def association_labels(self, account: str, line: AssociationLine) -> tuple[str, ...] | None:
        """The labels of the stored link between the line's two ends; None when unlinked."""

    def put_event(self, account: str, event: Event) -> bool:
        """Store the event once per (owner, id): True if stored, False if it already was."""

    def events_of(self, account: str, key: RecordKey) -> list[Event]: ...

    def all_events(self, account: str) -> Iterator[Event]: ...

    def delete_events(self, account: str, key: RecordKey) -> int:
        """Delete the record's events; how many there were."""

    def put_segment(self, account: str, body: Mapping[str, Any]) -> None:
        """Write a segment as it is (loading data; the segments use case checks versions)."""

    def segment_list(self, account: str) -> list[Segment]: ...

    def dataset(self, account: str) -> Dataset:
        """The whole account (segments included)."""

    def neighbourhood(self, account: str, key: RecordKey, contacts_events: bool) -> Dataset:
        """One record, its associated records, its events (and, with `contacts_events`, the
        events of its associated contacts) and the account's segments: all that scoring that
        record can read."""


def whole_account(data: AccountData, account: str) -> Dataset:
    """`AccountData.dataset`, derived from its other reads the same way for every store."""
    return Dataset(
        records=data.all_records(account),
        associations=data.all_associations(account),
        events=data.all_events(account),
        segments=data.segment_list(account),
    )


def record_neighbourhood(
    data: AccountData, account: str, key: RecordKey, contacts_events: bool
) -> Dataset:
    """`AccountData.neighbourhood`, derived from its other reads the same way for every store."""
    links = data.associations_of(account, key)
    others = [(line.to_type, line.to_id) for line in links]
    events = data.events_of(account, key)
    if contacts_events:
        for other in others:
            if other[0] == "contacts":
                events += data.events_of(account, other)
    return Dataset(
        records=data.records(account, [key, *others]),
        associations=links,
        events=events,
        segments=data.segment_list(account),
    )
