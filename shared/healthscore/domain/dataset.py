"""The portable dataset as domain objects: records, associations, events and segments.

`Dataset` is an in-memory view with the lookups scoring needs: a record by key, its associated
records of a type (labels merged across association lines), and its events of a type.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from healthscore.domain.conditions import Condition, all_hold, boundary_days, static_conditions_hold
from healthscore.domain.overrides import Override

RecordKey = tuple[str, str]
_NO_PROPERTIES: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Record:
    object_type: str
    id: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    lists: frozenset[str] = frozenset()

    @property
    def key(self) -> RecordKey:
        return (self.object_type, self.id)


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as stored: the stamp (domain/ordering.py) of the change that last set each
    property, of its latest creation/restore/property change (`alive`) and of its latest
    deletion (`deleted`: a tombstone), the record it was merged into, and its stored version
    (None: not stored yet). A tombstoned record (`alive <= deleted`) is invisible: no reader of
    records, links or the dataset sees it, and its kept events count only once it is back."""

    record: Record
    property_times: Mapping[str, str] = field(default_factory=dict)
    version: int | None = None
    alive: str = ""
    deleted: str = ""
    merged_into: str | None = None

    @property
    def visible(self) -> bool:
        if self.merged_into is not None:
            return False  # merged into another record: it never comes back
        return not self.deleted or self.alive > self.deleted


@dataclass(frozen=True, slots=True)
class StoredLink:
    """A link's register as stored: its labels (None: removed, a tombstone on the pair), the
    stamp of the change that last set it, and — when a deletion of one end hid it — that
    deletion's stamp."""

    labels: tuple[str, ...] | None
    stamp: str = ""
    hidden_at: str = ""  # hidden by its end's deletion stamped so (kept for a merge to move)

    @property
    def visible(self) -> bool:
        return self.labels is not None and not self.hidden_at


@dataclass(frozen=True, slots=True)
class AssociationLine:
    """One line of associations.jsonl; it links both ways."""

    from_type: str
    from_id: str
    to_type: str
    to_id: str
    labels: tuple[str, ...] = ()

    @property
    def ends(self) -> tuple[RecordKey, RecordKey]:
        return (self.from_type, self.from_id), (self.to_type, self.to_id)


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    occurred_at: datetime
    object_type: str
    object_id: str
    properties: Mapping[str, Any] = field(default_factory=dict)

    @property
    def day(self) -> date:
        return self.occurred_at.date()  # occurred_at is stored in UTC

    @property
    def owner(self) -> RecordKey:
        return (self.object_type, self.object_id)


@dataclass(frozen=True, slots=True)
class Segment:
    """A named filter over records of one type: conditions AND-ed, optionally list membership."""

    id: str
    name: str
    object_type: str
    conditions: tuple[Condition, ...] = ()
    lists: tuple[str, ...] = ()

    def matches(self, record: Record, today: date) -> bool:
        if record.object_type != self.object_type:
            return False
        if self.lists and not record.lists.intersection(self.lists):
            return False
        return all_hold(self.conditions, record.properties, record.lists, today)

    def boundary_days(self, record: Record, today: date) -> Iterable[date]:
        """Future days on which this record can enter or leave the segment (date conditions)."""
        if record.object_type != self.object_type:
            return ()
        if self.lists and not record.lists.intersection(self.lists):
            return ()
        if not static_conditions_hold(self.conditions, record.properties, record.lists, today):
            return ()
        return boundary_days(self.conditions, record.properties, today)


@dataclass(frozen=True, slots=True)
class Neighbour:
    """An associated record and the labels of its association (union over lines)."""

    record: Record
    labels: frozenset[str]


@dataclass(frozen=True, slots=True)
class PropertyChange:
    """One line of `property_changes.jsonl`: a property of a record set to `value` (None:
    cleared) at `changed_at`; `line` orders changes of the same instant (the later line wins)."""

    object_type: str
    id: str
    name: str  # the property (the file's `property` field)
    value: Any
    changed_at: datetime
    line: int = 0

    @property
    def key(self) -> RecordKey:
        return (self.object_type, self.id)


def properties_at(
    record: Record, changes: Iterable[PropertyChange], today: date
) -> Mapping[str, Any]:
    """A record's properties on `today`: a property with change lines takes the value of its
    latest change on or before that day (absent if it has none by then, or was cleared); one
    without change lines keeps its `records.jsonl` value."""
    properties = dict(record.properties)
    latest: dict[str, PropertyChange] = {}
    for change in changes:
        properties.pop(change.name, None)  # changed at some time: its history decides
        if change.changed_at.astimezone(UTC).date() > today:
            continue
        seen = latest.get(change.name)
        if seen is None or (change.changed_at, change.line) >= (seen.changed_at, seen.line):
            latest[change.name] = change
    for name, change in latest.items():
        if change.value is not None:
            properties[name] = change.value
    return properties


def last_change_days(changes: Iterable[PropertyChange], today: date) -> dict[str, date]:
    """Each property's last change day on or before `today` (a clear is a change too)."""
    days: dict[str, date] = {}
    for change in changes:
        day = change.changed_at.astimezone(UTC).date()
        if day <= today and day > days.get(change.name, date.min):
            days[change.name] = day
    return days


class Dataset:
    """Records, associations, events and segments with the lookups scoring needs.

    A record line seen twice keeps the last; an event seen twice (same owner and id) is one
    event, the first. A record referenced only by events or associations has no properties.
    """

    def __init__(
        self,
        records: Iterable[Record] = (),
        associations: Iterable[AssociationLine] = (),
        events: Iterable[Event] = (),
        segments: Iterable[Segment] = (),
        property_changes: Iterable[PropertyChange] = (),
        overrides: Iterable[Override] = (),
    ) -> None:
        self.property_changes: tuple[PropertyChange, ...] = tuple(property_changes)
        self.overrides: tuple[Override, ...] = tuple(overrides)
        self._changed: dict[RecordKey, dict[str, date]] = {}  # resolved by `at`
        self._records: dict[RecordKey, Record] = {}
        for record in records:
            self._records[record.key] = record
        self.segments: dict[str, Segment] = {s.id: s for s in segments}

        labels: dict[RecordKey, dict[RecordKey, set[str]]] = defaultdict(lambda: defaultdict(set))
        for line in associations:
            one, other = (line.from_type, line.from_id), (line.to_type, line.to_id)
            labels[one][other].update(line.labels)
            labels[other][one].update(line.labels)
        self._neighbours: dict[RecordKey, dict[str, list[tuple[RecordKey, frozenset[str]]]]] = {}
        for key, others in labels.items():
            by_type: dict[str, list[tuple[RecordKey, frozenset[str]]]] = defaultdict(list)
            for other_key in sorted(others):
                by_type[other_key[0]].append((other_key, frozenset(others[other_key])))
            self._neighbours[key] = dict(by_type)

        self._events: dict[RecordKey, dict[str, list[Event]]] = defaultdict(
            lambda: defaultdict(list)
        )
        seen: set[tuple[str, str, str]] = set()
        self.event_count = 0
        for event in events:
            identity = (event.object_type, event.object_id, event.id)
            if identity in seen:
                continue
            seen.add(identity)
            self._events[event.owner][event.type].append(event)
            self.event_count += 1

    def at(self, as_of: datetime) -> Dataset:
        """The dataset as it was on as-of's UTC day: each record's properties from its property
        history (`properties_at`); the same dataset when it has no history. Changes of records
        without a line in records.jsonl are not records of their own."""
        if not self.property_changes:
            return self
        today = as_of.astimezone(UTC).date()
        by_record: dict[RecordKey, list[PropertyChange]] = defaultdict(list)
        for change in self.property_changes:
            by_record[change.key].append(change)
        resolved = copy.copy(self)
        resolved._records = {
            key: (
                replace(record, properties=properties_at(record, by_record[key], today))
                if key in by_record
                else record
            )
            for key, record in self._records.items()
        }
        resolved.property_changes = ()
        resolved._changed = {
            key: last_change_days(changes, today) for key, changes in by_record.items()
        }
        return resolved

    def changed_days(self, key: RecordKey) -> Mapping[str, date]:
        """Of a dataset resolved by `at`: the day of each property's last change on or before
        its day, for properties with change lines (the others' change days are not known)."""
        return self._changed.get(key, {})

    def overrides_of(self, key: RecordKey, definition: str | None, name: str) -> list[Override]:
        """A record's overrides for the score with this id or name."""
        wanted = {name} if definition is None else {definition, name}
        return [
            o for o in self.overrides if (o.object_type, o.id) == key and o.definition in wanted
        ]

    def all_records(self) -> list[Record]:
        """Every record line (after duplicates), in no particular order."""
        return list(self._records.values())

    def all_events(self) -> list[Event]:
        """Every event (after duplicates), in no particular order."""
        return [e for by_type in self._events.values() for es in by_type.values() for e in es]

    def association_pairs(self) -> list[tuple[RecordKey, RecordKey, frozenset[str]]]:
        """Each associated pair once per direction, with the union of its labels."""
        return [
            (key, other, labels)
            for key, by_type in self._neighbours.items()
            for pairs in by_type.values()
            for other, labels in pairs
        ]

    def record(self, key: RecordKey) -> Record:
        """The record, or one with no properties when only events or associations name it."""
        return self._records.get(key) or Record(key[0], key[1], _NO_PROPERTIES)

    def has_record(self, key: RecordKey) -> bool:
        """Whether the dataset has a line for this record (not only events or associations)."""
        return key in self._records

    def records_of(self, object_type: str) -> list[Record]:
        """Records of a type, ordered by id."""
        return sorted(
            (r for r in self._records.values() if r.object_type == object_type),
            key=lambda r: r.id,
        )

    def neighbours(self, key: RecordKey, object_type: str) -> list[Neighbour]:
        """Associated records of one type, each once, with the union of their labels."""
        return [
            Neighbour(self.record(other), labels)
            for other, labels in self._neighbours.get(key, {}).get(object_type, ())
        ]

    def events_of(self, key: RecordKey, event_type: str) -> list[Event]:
        """A record's own events of one type."""
        by_type = self._events.get(key)
        return by_type.get(event_type, []) if by_type else []
