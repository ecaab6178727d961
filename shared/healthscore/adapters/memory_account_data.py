"""`healthscore.ports.AccountData` in memory (records, links, events, segments of each
account), the base of `MemoryStore`; `_Account` holds everything one account stores."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from healthscore.adapters.dataset_files import parse_segment
from healthscore.adapters.dynamo_tables import join_key, split_key
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
from healthscore.domain.lifecycle import Job, StoredDefinition, StoredSegment
from healthscore.domain.score_state import ScoreState
from healthscore.ports import (
    record_neighbourhood,
    whole_account,
)


def _json(value: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(dict(value)))
    return result


class _Account:
    def __init__(self) -> None:
        self.records: dict[str, Record] = {}  # visible records, by join_key(type, id)
        self.stored: dict[str, StoredRecord] = {}  # every record item, tombstones too
        self.definitions: dict[str, StoredDefinition] = {}
        self.plan_guard = 0
        self.live_marker = 0  # moves on with every change to definitions and segments
        self.states: dict[tuple[str, RecordKey], ScoreState] = {}
        self.history: dict[str, dict[str, dict[str, Any]]] = {}  # pk → sk → entry
        self.links: dict[str, tuple[RecordKey, RecordKey, tuple[str, ...]]] = {}  # both ways
        self.link_stamps: dict[str, StoredLink] = {}  # both ways; removed links' tombstones
        self.applied: set[tuple[str, str, RecordKey]] = set()  # (stamp, definition, record)
        self.events: dict[str, Event] = {}  # by join_key(type, id, event id)
        self.segments: dict[str, StoredSegment] = {}
        self.jobs: dict[str, Job] = {}
        self.outputs: dict[str, dict[str, Any]] = {}


class MemoryAccountData:
    """Implements `healthscore.ports.AccountData`."""

    def __init__(self) -> None:
        self._accounts: dict[str, _Account] = {}

    def _of(self, account: str) -> _Account:
        return self._accounts.setdefault(account, _Account())

    # -- records ---------------------------------------------------------------------------

    def put_record(self, account: str, record: Record) -> None:
        self.put_stored(self._of(account), StoredRecord(record))

    @staticmethod
    def put_stored(data: _Account, stored: StoredRecord) -> None:
        """Store the record item (visible or a tombstone) at its next version."""
        record = stored.record
        sk = join_key(*record.key)
        kept = Record(
            record.object_type,
            record.id,
            _json(record.properties),
            frozenset(str(v) for v in record.lists),
        )
        old = data.stored.get(sk)
        version = (old.version or 0) + 1 if old is not None else 1
        data.stored[sk] = StoredRecord(
            kept,
            dict(stored.property_times),
            version,
            stored.alive,
            stored.deleted,
            stored.merged_into,
        )
        if stored.visible:
            data.records[sk] = kept
        else:
            data.records.pop(sk, None)

    def record(self, account: str, key: RecordKey) -> Record | None:
        return self._of(account).records.get(join_key(*key))

    def records(self, account: str, keys: Iterable[RecordKey]) -> list[Record]:
        stored = self._of(account).records
        found = (stored.get(join_key(*key)) for key in sorted(set(keys)))
        return [record for record in found if record is not None]

    def records_after(
        self, account: str, object_type: str, after: str | None, limit: int
    ) -> list[Record]:
        prefix = join_key(object_type) + "#"
        start = join_key(object_type, after) if after is not None else ""
        records = self._of(account).records
        keys = sorted(k for k in list(records) if k.startswith(prefix) and k > start)[:limit]
        return [records[k] for k in keys]

    def all_records(self, account: str) -> Iterator[Record]:
        return (stored.record for stored in self.all_stored_records(account))

    def all_stored_records(self, account: str) -> Iterator[StoredRecord]:
        data = self._of(account)
        return (data.stored[sk] for sk in sorted(data.records))

    def count_records(self, account: str, object_type: str) -> int:
        prefix = join_key(object_type) + "#"
        return sum(1 for sk in self._of(account).records if sk.startswith(prefix))

    # -- associations ----------------------------------------------------------------------

    def put_association(self, account: str, line: AssociationLine) -> None:
        self.put_link(self._of(account), line, StoredLink(tuple(line.labels)))

    @staticmethod
    def put_link(data: _Account, line: AssociationLine, stored: StoredLink | None) -> None:
        """Both directions of the link set (`stored.labels`), tombstoned (labels None) or gone
        (`stored` None)."""
        one, other = (line.from_type, line.from_id), (line.to_type, line.to_id)
        for a, b in ((one, other), (other, one)):
            sk = join_key(*a, *b)
            if stored is None:
                data.link_stamps.pop(sk, None)
            else:
                data.link_stamps[sk] = stored
            if stored is None or not stored.visible or stored.labels is None:
                data.links.pop(sk, None)
            else:
                data.links[sk] = (a, b, tuple(str(v) for v in stored.labels))

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

    def stored_link(self, account: str, line: AssociationLine) -> StoredLink | None:
        return self._of(account).link_stamps.get(
            join_key(line.from_type, line.from_id, line.to_type, line.to_id)
        )

    def stored_links_of(self, account: str, key: RecordKey) -> list[tuple[AssociationLine, str]]:
        data = self._of(account)
        return [
            (line, data.link_stamps[join_key(*key, line.to_type, line.to_id)].stamp)
            for line in self.associations_of(account, key)
        ]

    def link_registers_of(
        self, account: str, key: RecordKey
    ) -> list[tuple[AssociationLine, StoredLink]]:
        prefix = join_key(*key) + "#"
        stamps = self._of(account).link_stamps
        registers = []
        for sk in sorted(stamps):
            if sk.startswith(prefix):
                _a, _b, to_type, to_id = split_key(sk)
                stored = stamps[sk]
                line = AssociationLine(*key, to_type, to_id, stored.labels or ())
                registers.append((line, stored))
        return registers

    def tombstoned(self, account: str, keys: Iterable[RecordKey]) -> set[RecordKey]:
        stored = self._of(account).stored
        found = (stored.get(join_key(*key)) for key in set(keys))
        return {s.record.key for s in found if s is not None and not s.visible}

    def all_tombstoned(self, account: str) -> set[RecordKey]:
        return {s.record.key for s in self._of(account).stored.values() if not s.visible}

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

    def put_segment(self, account: str, body: Mapping[str, Any]) -> None:
        segments = self._of(account).segments
        old = segments.get(str(body["id"]))
        version = (old.version or 0) + 1 if old is not None else 1
        segments[str(body["id"])] = StoredSegment(
            str(body["id"]), _json(body), datetime.now(UTC), version
        )
        self._of(account).live_marker += 1

    def segment_bodies(self, account: str) -> list[dict[str, Any]]:
        segments = self._of(account).segments
        return [_json(segments[sid].body) for sid in sorted(segments)]

    def segment_list(self, account: str) -> list[Segment]:
        segments = self._of(account).segments
        return [parse_segment(segments[sid].body) for sid in sorted(segments)]

    def dataset(self, account: str) -> Dataset:
        """The whole account as a Dataset (segments included)."""
        return whole_account(self, account)

    def neighbourhood(self, account: str, key: RecordKey, contacts_events: bool) -> Dataset:
        """One record, its associated records and the events scoring it can read."""
        return record_neighbourhood(self, account, key, contacts_events)


def _line(link: tuple[RecordKey, RecordKey, tuple[str, ...]]) -> AssociationLine:
    (from_type, from_id), (to_type, to_id), labels = link
    return AssociationLine(from_type, from_id, to_type, to_id, labels)
