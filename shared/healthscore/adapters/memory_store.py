"""The account-data port in memory: what the use-case tests, notebooks and the CLI can run on
without DynamoDB. It keeps DynamoDB's observable behaviour (tests/contract holds it to the
DynamoDB store): key order, both directions of a link, events stored once per (owner, id) at
millisecond precision in UTC, properties round-tripped as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from healthscore.adapters.dataset_files import parse_segment
from healthscore.adapters.dynamo_tables import join_key
from healthscore.domain.dataset import AssociationLine, Dataset, Event, Record, RecordKey, Segment
from healthscore.ports import record_neighbourhood, whole_account


def _json(value: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(dict(value)))
    return result


class _Account:
    def __init__(self) -> None:
        self.records: dict[str, Record] = {}  # by join_key(type, id)
        self.links: dict[str, tuple[RecordKey, RecordKey, tuple[str, ...]]] = {}  # both ways
        self.events: dict[str, Event] = {}  # by join_key(type, id, event id)
        self.segments: dict[str, dict[str, Any]] = {}


class MemoryAccountData:
    """Implements `healthscore.ports.AccountData`."""

    def __init__(self) -> None:
        self._accounts: dict[str, _Account] = {}

    def _of(self, account: str) -> _Account:
        return self._accounts.setdefault(account, _Account())

    # -- records ---------------------------------------------------------------------------

    def put_record(self, account: str, record: Record) -> None:
        self._of(account).records[join_key(*record.key)] = Record(
            record.object_type,
            record.id,
            _json(record.properties),
            frozenset(str(v) for v in record.lists),
        )

    def record(self, account: str, key: RecordKey) -> Record | None:
        return self._of(account).records.get(join_key(*key))

    def records(self, account: str, keys: Iterable[RecordKey]) -> list[Record]:
        stored = self._of(account).records
        found = (stored.get(join_key(*key)) for key in sorted(set(keys)))
        return [record for record in found if record is not None]

    def all_records(self, account: str) -> Iterator[Record]:
        stored = self._of(account).records
        for sk in sorted(stored):
            yield stored[sk]

    def count_records(self, account: str, object_type: str) -> int:
        prefix = join_key(object_type) + "#"
        return sum(1 for sk in self._of(account).records if sk.startswith(prefix))

    # -- associations ----------------------------------------------------------------------

    def put_association(self, account: str, line: AssociationLine) -> None:
        one, other = (line.from_type, line.from_id), (line.to_type, line.to_id)
        labels = tuple(str(v) for v in line.labels)
        links = self._of(account).links
        links[join_key(*one, *other)] = (one, other, labels)
        links[join_key(*other, *one)] = (other, one, labels)

    def associations_of(self, account: str, key: RecordKey) -> list[AssociationLine]:
        prefix = join_key(*key) + "#"
        links = self._of(account).links
        return [_line(links[sk]) for sk in sorted(links) if sk.startswith(prefix)]

    def all_associations(self, account: str) -> Iterator[AssociationLine]:
        links = self._of(account).links
        for sk in sorted(links):
            one, other, _labels = links[sk]
            if one <= other:
                yield _line(links[sk])

    def association_labels(self, account: str, line: AssociationLine) -> tuple[str, ...] | None:
        found = self._of(account).links.get(
            join_key(line.from_type, line.from_id, line.to_type, line.to_id)
        )
        return None if found is None else found[2]

    # -- events ----------------------------------------------------------------------------

    def put_event(self, account: str, event: Event) -> bool:
        events = self._of(account).events
        sk = join_key(event.object_type, event.object_id, event.id)
        if sk in events:
            return False
        millis = int(event.occurred_at.timestamp() * 1000)
        events[sk] = Event(
            event.id,
            event.type,
            datetime.fromtimestamp(millis / 1000, UTC),
            event.object_type,
            event.object_id,
            _json(event.properties),
        )
        return True

    def events_of(self, account: str, key: RecordKey) -> list[Event]:
        prefix = join_key(*key) + "#"
        events = self._of(account).events
        return [events[sk] for sk in sorted(events) if sk.startswith(prefix)]

    def all_events(self, account: str) -> Iterator[Event]:
        events = self._of(account).events
        for sk in sorted(events):
            yield events[sk]

    def delete_events(self, account: str, key: RecordKey) -> int:
        prefix = join_key(*key) + "#"
        events = self._of(account).events
        gone = [sk for sk in events if sk.startswith(prefix)]
        for sk in gone:
            del events[sk]
        return len(gone)

    # -- segments and datasets -------------------------------------------------------------

    def put_segment(self, account: str, body: Mapping[str, Any]) -> None:
        self._of(account).segments[str(body["id"])] = _json(body)

    def segment_list(self, account: str) -> list[Segment]:
        segments = self._of(account).segments
        return [parse_segment(segments[sid]) for sid in sorted(segments)]

    def dataset(self, account: str) -> Dataset:
        """The whole account as a Dataset (segments included)."""
        return whole_account(self, account)

    def neighbourhood(self, account: str, key: RecordKey, contacts_events: bool) -> Dataset:
        """One record, its associated records and the events scoring it can read."""
        return record_neighbourhood(self, account, key, contacts_events)


def _line(link: tuple[RecordKey, RecordKey, tuple[str, ...]]) -> AssociationLine:
    (from_type, from_id), (to_type, to_id), labels = link
    return AssociationLine(from_type, from_id, to_type, to_id, labels)
