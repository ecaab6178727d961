"""The storage ports in memory: what the use-case tests (and anyone without DynamoDB) run on.
It keeps DynamoDB's observable behaviour, and tests/contract holds it to the DynamoDB store:
key order, both directions of a link, events stored once per (owner, id) at millisecond
precision in UTC, properties round-tripped as JSON, versioned writes, a change's writes applied
all or none, history newest first in pages. Thread-safe: one lock around every read and
commit, so concurrent scorers serialise as DynamoDB's conditions make them."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from healthscore.adapters.cursors import decode_cursor, encode_cursor
from healthscore.adapters.dataset_files import parse_segment
from healthscore.adapters.dynamo_tables import join_key
from healthscore.domain.dataset import (
    AssociationLine,
    Dataset,
    Event,
    Record,
    RecordKey,
    Segment,
    StoredRecord,
)
from healthscore.domain.errors import Conflict
from healthscore.domain.score_state import ScoreState
from healthscore.ports import (
    MAX_TRANSACTION_ITEMS,
    TooManyAffected,
    WriteRefused,
    record_neighbourhood,
    whole_account,
)


def _json(value: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(dict(value)))
    return result


class _Account:
    def __init__(self) -> None:
        self.records: dict[str, Record] = {}  # by join_key(type, id)
        self.record_meta: dict[str, tuple[dict[str, int], int]] = {}  # property times, version
        self.definitions: dict[str, tuple[dict[str, Any], int]] = {}  # live: JSON, revision
        self.states: dict[tuple[str, RecordKey], ScoreState] = {}
        self.history: dict[str, dict[str, dict[str, Any]]] = {}  # pk → sk → entry
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
        self._put_record(self._of(account), record, {})

    @staticmethod
    def _put_record(data: _Account, record: Record, times: Mapping[str, int]) -> None:
        sk = join_key(*record.key)
        data.records[sk] = Record(
            record.object_type,
            record.id,
            _json(record.properties),
            frozenset(str(v) for v in record.lists),
        )
        version = data.record_meta.get(sk, ({}, 0))[1] + 1
        data.record_meta[sk] = (dict(times), version)

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

    def segment_bodies(self, account: str) -> list[dict[str, Any]]:
        segments = self._of(account).segments
        return [_json(segments[sid]) for sid in sorted(segments)]

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


class MemoryStore(MemoryAccountData):
    """Implements `healthscore.ports.ScoreStore` in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()
        self._checkpoint: date | None = None

    def put_live_definition(
        self, account: str, definition_id: str, raw: Mapping[str, Any], revision: int
    ) -> None:
        with self.lock:
            self._of(account).definitions[definition_id] = (_json(raw), revision)

    def retire_definition(self, account: str, definition_id: str) -> None:
        """The score is no longer live (turned off)."""
        with self.lock:
            self._of(account).definitions.pop(definition_id, None)

    def live_definitions(self, account: str) -> list[tuple[str, int, dict[str, Any]]]:
        with self.lock:
            live = self._of(account).definitions
            return [(d, live[d][1], _json(live[d][0])) for d in sorted(live)]

    def live_definition(
        self, account: str, definition_id: str
    ) -> tuple[dict[str, Any], int] | None:
        with self.lock:
            found = self._of(account).definitions.get(definition_id)
            return None if found is None else (_json(found[0]), found[1])

    def stored_record(self, account: str, key: RecordKey) -> StoredRecord | None:
        with self.lock:
            data = self._of(account)
            sk = join_key(*key)
            if sk not in data.records:
                return None
            times, version = data.record_meta[sk]
            return StoredRecord(data.records[sk], dict(times), version)

    def score_states(
        self, account: str, wanted: Iterable[tuple[str, RecordKey]]
    ) -> dict[tuple[str, RecordKey], ScoreState]:
        with self.lock:
            states = self._of(account).states
            return {w: _copy(states[w]) for w in set(wanted) if w in states}

    def score(self, account: str, definition_id: str, key: RecordKey) -> ScoreState | None:
        return self.score_states(account, [(definition_id, key)]).get((definition_id, key))

    def scores(self, account: str, definition_id: str) -> Iterator[ScoreState]:
        with self.lock:
            states = self._of(account).states
            found = [_copy(s) for (d, _k), s in states.items() if d == definition_id]
        yield from sorted(found, key=lambda s: join_key(*s.key))

    def due_states(self, day: date) -> Iterator[tuple[str, ScoreState]]:
        with self.lock:
            due = [
                (join_key(account, d, *k), account, _copy(state))
                for account, data in self._accounts.items()
                for (d, k), state in data.states.items()
                if state.due_day == day
            ]
        for _key, account, state in sorted(due, key=lambda row: row[0]):
            yield account, state

    def save_state(self, account: str, state: ScoreState) -> None:
        with self.lock:
            states = self._of(account).states
            if _version_of(states.get((state.definition_id, state.key))) != state.version:
                raise Conflict("this item was changed by someone else since you read it")
            states[(state.definition_id, state.key)] = _stored(state)

    def change_writes(self, account: str) -> MemoryChangeWrites:
        return MemoryChangeWrites(self, account)

    def history(
        self, account: str, definition_id: str, key: RecordKey, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        pk = join_key(account, definition_id, *key)
        start = decode_cursor(cursor, pk)
        with self.lock:
            entries = self._of(account).history.get(pk, {})
            keys = sorted(entries, reverse=True)
            if start is not None:
                keys = [sk for sk in keys if sk < start["sk"]["S"]]
            page = keys[:limit]
            found = [json.loads(json.dumps(entries[sk])) for sk in page]
        # as DynamoDB: a full page always carries a cursor, even when nothing follows
        last = {"pk": {"S": pk}, "sk": {"S": page[-1]}} if len(page) == limit else None
        return found, encode_cursor(last)

    def sweep_checkpoint(self) -> date | None:
        return self._checkpoint

    def save_sweep_checkpoint(self, day: date) -> None:
        self._checkpoint = day


class MemoryChangeWrites:
    """One change's writes to a MemoryStore: every condition checked, then all applied, under
    the store's lock."""

    def __init__(self, store: MemoryStore, account: str) -> None:
        self.store, self.account = store, account
        self.checks: list[Callable[[_Account], bool]] = []
        self.applies: list[Callable[[_Account], None]] = []
        self.event_check: int | None = None  # index of the check whose failure is "duplicate"
        self._live: set[tuple[str, int]] = set()

    def __len__(self) -> int:
        return len(self.applies) + len(self._live)

    def _add(self, check: Callable[[_Account], bool], apply: Callable[[_Account], None]) -> None:
        self.checks.append(check)
        self.applies.append(apply)

    def require_live(self, definition_id: str, revision: int) -> None:
        if (definition_id, revision) in self._live:
            return
        self._live.add((definition_id, revision))
        self.checks.append(
            lambda data: data.definitions.get(definition_id, (None, -1))[1] == revision
        )

    def put_event_once(self, event: Event) -> None:
        sk = join_key(event.object_type, event.object_id, event.id)
        self.event_check = len(self.checks)

        def apply(data: _Account) -> None:
            self.store.put_event(self.account, event)

        self._add(lambda data: sk not in data.events, apply)

    def put_record(self, stored: StoredRecord, at: datetime) -> None:
        sk = join_key(*stored.record.key)

        def apply(data: _Account) -> None:
            MemoryAccountData._put_record(data, stored.record, stored.property_times)

        self._add(lambda data: _record_version(data, sk) == stored.version, apply)

    def delete_record(self, stored: StoredRecord) -> None:
        sk = join_key(*stored.record.key)

        def apply(data: _Account) -> None:
            data.records.pop(sk, None)
            data.record_meta.pop(sk, None)

        self._add(
            lambda data: stored.version is None or _record_version(data, sk) == stored.version,
            apply,
        )

    def set_link(self, line: AssociationLine, was: tuple[str, ...] | None, at: datetime) -> None:
        sk = join_key(line.from_type, line.from_id, line.to_type, line.to_id)

        def holds(data: _Account) -> bool:
            found = data.links.get(sk)
            return found is None if was is None else found is not None and found[2] == tuple(was)

        self._add(holds, lambda data: self.store.put_association(self.account, line))

    def remove_link(self, line: AssociationLine, was: tuple[str, ...] | None = None) -> None:
        one = join_key(line.from_type, line.from_id, line.to_type, line.to_id)
        other = join_key(line.to_type, line.to_id, line.from_type, line.from_id)

        def holds(data: _Account) -> bool:
            found = data.links.get(one)
            return found is not None and (was is None or found[2] == tuple(was))

        def apply(data: _Account) -> None:
            data.links.pop(one, None)
            data.links.pop(other, None)

        self._add(holds, apply)

    def put_state(self, state: ScoreState) -> None:
        wanted = (state.definition_id, state.key)
        saved = _stored(state)

        def apply(data: _Account) -> None:
            data.states[wanted] = saved

        self._add(lambda data: _version_of(data.states.get(wanted)) == state.version, apply)

    def delete_state(self, state: ScoreState) -> None:
        wanted = (state.definition_id, state.key)

        def apply(data: _Account) -> None:
            data.states.pop(wanted, None)

        self._add(lambda data: _version_of(data.states.get(wanted)) == state.version, apply)

    def append_history(
        self, definition_id: str, key: RecordKey, at: datetime, entry: dict[str, Any]
    ) -> None:
        pk = join_key(self.account, definition_id, *key)
        sk = f"{at.isoformat(timespec='microseconds')}#{entry.get('sequence', 0):06d}"
        saved = json.loads(json.dumps(entry))

        def apply(data: _Account) -> None:
            data.history.setdefault(pk, {})[sk] = saved

        self._add(lambda data: True, apply)

    def commit(self) -> None:
        if len(self) > MAX_TRANSACTION_ITEMS:
            raise TooManyAffected(
                f"this change touches {len(self)} items; one transaction holds "
                f"{MAX_TRANSACTION_ITEMS}"
            )
        with self.store.lock:
            data = self.store._of(self.account)
            codes: list[str | None] = [
                None if check(data) else "ConditionalCheckFailed" for check in self.checks
            ]
            if any(codes):
                duplicate = self.event_check is not None and codes[self.event_check] is not None
                raise WriteRefused(codes, duplicate=duplicate)
            for apply in self.applies:
                apply(data)


def _copy(state: ScoreState) -> ScoreState:
    return replace(
        state,
        groups=dict(state.groups),
        rules=dict(state.rules),
        change=copy.deepcopy(state.change),
    )


def _stored(state: ScoreState) -> ScoreState:
    """What a write stores: a copy at the next version."""
    return replace(_copy(state), version=(state.version or 0) + 1)


def _version_of(state: ScoreState | None) -> int | None:
    return None if state is None else state.version


def _record_version(data: _Account, sk: str) -> int | None:
    meta = data.record_meta.get(sk)
    return None if meta is None else meta[1]


def _live_revision(data: _Account, definition_id: str) -> int | None:
    found = data.definitions.get(definition_id)
    return None if found is None else found[1]
