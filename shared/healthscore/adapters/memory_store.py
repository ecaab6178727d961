"""The storage ports in memory: what the use-case tests (and anyone without DynamoDB) run on.
It keeps DynamoDB's observable behaviour, and tests/contract holds it to the DynamoDB store:
key order, both directions of a link, events stored once per (owner, id) at millisecond
precision in UTC, properties round-tripped as JSON, versioned writes, a change's writes applied
all or none, history newest first in pages. Score-side reads, definition saves and every
commit hold one lock, so concurrent scorers serialise as DynamoDB's conditions make them;
loading account data (put_record, put_association) is meant for one thread."""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from healthscore.adapters.cursors import decode_cursor, encode_cursor
from healthscore.adapters.dynamo_tables import join_key
from healthscore.adapters.dynamo_writes import history_instant
from healthscore.adapters.memory_account_data import MemoryAccountData, _json
from healthscore.adapters.memory_integrations import MemoryIntegrations
from healthscore.adapters.memory_snapshots import MemorySnapshots
from healthscore.adapters.memory_writes import MemoryChangeWrites, _copy, _stored, _version_of
from healthscore.domain.dataset import (
    RecordKey,
    StoredRecord,
)
from healthscore.domain.errors import Conflict
from healthscore.domain.lifecycle import Job, StoredDefinition, StoredSegment
from healthscore.domain.score_state import ScoreState
from healthscore.ports import (
    RecordLinks,
    Snapshot,
    live_score,
    live_scores_in,
)


class MemoryStore(MemoryAccountData, MemoryIntegrations, MemorySnapshots):
    """Implements `healthscore.ports.HealthScoreStore` in memory."""

    def __init__(self) -> None:
        MemoryAccountData.__init__(self)
        MemoryIntegrations.__init__(self)
        MemorySnapshots.__init__(self)
        self.lock = threading.RLock()
        self._checkpoint: date | None = None

    def put_live_definition(
        self, account: str, definition_id: str, raw: Mapping[str, Any], revision: int
    ) -> None:
        with self.lock:
            at = datetime.now(UTC)
            stored = self._of(account).definitions.get(definition_id) or StoredDefinition(
                definition_id, raw["name"], raw["object_type"], "live", at, at, "loader"
            )
            stored = replace(stored, state="live", live=_json(raw), live_revision=revision)
            stored.version = (stored.version or 0) + 1
            self._of(account).definitions[definition_id] = stored
            self._of(account).live_marker += 1

    def live_definitions(self, account: str) -> list[tuple[str, int, dict[str, Any]]]:
        return live_scores_in(self, account)

    def live_marker(self, account: str) -> int:
        with self.lock:
            return self._of(account).live_marker

    def accounts_with_live_scores(self) -> list[str]:
        with self.lock:
            return sorted(
                account
                for account, data in self._accounts.items()
                if any(d.state == "live" and d.live for d in data.definitions.values())
            )

    def live_definition(
        self, account: str, definition_id: str
    ) -> tuple[dict[str, Any], int] | None:
        return live_score(self, account, definition_id)

    # -- definitions, segments, jobs, output properties ------------------------------------

    def definitions(self, account: str) -> list[StoredDefinition]:
        with self.lock:
            stored = self._of(account).definitions
            return [_fresh(stored[d]) for d in sorted(stored)]

    def definition(self, account: str, definition_id: str) -> StoredDefinition | None:
        with self.lock:
            found = self._of(account).definitions.get(definition_id)
            return None if found is None else _fresh(found)

    def save_definition(self, account: str, definition: StoredDefinition) -> None:
        with self.lock:
            stored = self._of(account).definitions
            _check_version(stored.get(definition.id), definition.version)
            definition.version = (definition.version or 0) + 1
            stored[definition.id] = _fresh(definition)
            self._of(account).live_marker += 1

    def plan_guard(self, account: str) -> int:
        with self.lock:
            return self._of(account).plan_guard

    def save_definition_guarded(
        self, account: str, definition: StoredDefinition, guard: int
    ) -> None:
        with self.lock:
            if self._of(account).plan_guard != guard:
                raise Conflict(
                    "another change to this account's health scores landed at the same time; "
                    "read them again and retry"
                )
            self.save_definition(account, definition)
            self._of(account).plan_guard += 1

    def delete_definition(self, account: str, definition: StoredDefinition) -> None:
        with self.lock:
            stored = self._of(account).definitions
            _check_version(stored.get(definition.id), definition.version)
            del stored[definition.id]
            self._of(account).live_marker += 1

    def stored_segments(self, account: str) -> list[StoredSegment]:
        with self.lock:
            segments = self._of(account).segments
            return [_fresh(segments[s]) for s in sorted(segments)]

    def stored_segment(self, account: str, segment_id: str) -> StoredSegment | None:
        with self.lock:
            found = self._of(account).segments.get(segment_id)
            return None if found is None else _fresh(found)

    def save_segment(self, account: str, segment: StoredSegment) -> None:
        with self.lock:
            segments = self._of(account).segments
            _check_version(segments.get(segment.id), segment.version)
            segment.version = (segment.version or 0) + 1
            segments[segment.id] = _fresh(segment)
            self._of(account).live_marker += 1

    def delete_segment(self, account: str, segment: StoredSegment) -> None:
        with self.lock:
            segments = self._of(account).segments
            _check_version(segments.get(segment.id), segment.version)
            del segments[segment.id]
            self._of(account).live_marker += 1

    def save_job(self, account: str, job: Job) -> None:
        with self.lock:
            self._of(account).jobs[job.id] = _fresh(job)

    def job(self, account: str, job_id: str) -> Job | None:
        with self.lock:
            found = self._of(account).jobs.get(job_id)
            return None if found is None else _fresh(found)

    def output_properties(self, account: str) -> list[dict[str, Any]]:
        with self.lock:
            outputs = self._of(account).outputs
            return [_json(outputs[name]) for name in sorted(outputs)]

    def output_property(self, account: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._of(account).outputs.get(name)
            return None if found is None else _json(found)

    def register_output_property(self, account: str, entry: dict[str, Any]) -> None:
        with self.lock:
            self._of(account).outputs[entry["name"]] = _json(entry)

    def unregister_output_properties(self, account: str, definition_id: str) -> None:
        with self.lock:
            outputs = self._of(account).outputs
            for name in [n for n, e in outputs.items() if e.get("definition_id") == definition_id]:
                del outputs[name]

    def delete_scores(self, account: str, definition_id: str) -> int:
        with self.lock:
            states = self._of(account).states
            gone = [key for key in states if key[0] == definition_id]
            for key in gone:
                del states[key]
            return len(gone)

    def applied_targets(
        self, account: str, stamp: str, targets: list[tuple[str, RecordKey]]
    ) -> set[tuple[str, RecordKey]]:
        with self.lock:
            applied = self._of(account).applied
            return {t for t in targets if (stamp, *t) in applied}

    def stored_record(self, account: str, key: RecordKey) -> StoredRecord | None:
        with self.lock:
            return self._of(account).stored.get(join_key(*key))

    def record_links(self, account: str, key: RecordKey) -> RecordLinks:
        with self.lock:
            stored = self._of(account).stored.get(join_key(*key))
            return RecordLinks(stored, self.link_registers_of(account, key))

    def snapshot(
        self,
        account: str,
        states: Iterable[tuple[str, RecordKey]] = (),
        records: Iterable[RecordKey] = (),
        consistent: bool = False,
    ) -> Snapshot:
        with self.lock:
            data = self._of(account)
            found = {k: data.stored[join_key(*k)] for k in records if join_key(*k) in data.stored}
            return Snapshot(data.live_marker, self.score_states(account, states), found)

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

    def score_page(
        self, account: str, definition_id: str, after: RecordKey | None, limit: int
    ) -> list[ScoreState]:
        start = join_key(*after) if after is not None else ""
        later = (s for s in self.scores(account, definition_id) if join_key(*s.key) > start)
        return list(itertools.islice(later, limit))

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

    def history_at(
        self, account: str, definition_id: str, key: RecordKey, at: datetime
    ) -> dict[str, Any] | None:
        pk = join_key(account, definition_id, *key)
        until = f"{history_instant(at)}#999999"
        with self.lock:
            entries = self._of(account).history.get(pk, {})
            before = [sk for sk in entries if sk <= until]
            found = entries[max(before)] if before else None
        return None if found is None else json.loads(json.dumps(found))

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


F = TypeVar("F", StoredDefinition, StoredSegment, Job)


def _fresh(item: F) -> F:
    """A copy the caller may change (nothing stored changes until it is saved)."""
    return copy.deepcopy(item)


def _check_version(stored: StoredDefinition | StoredSegment | None, read: int | None) -> None:
    if (None if stored is None else stored.version) != read:
        raise Conflict(
            "this item was changed by someone else since you read it; read it again and retry"
        )
