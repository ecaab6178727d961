"""One change's writes to the in-memory store: every condition checked, then all of them applied,
under the store's lock — the same outcomes as DynamoDB's TransactWriteItems (tests/contract)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from healthscore.adapters.dynamo_tables import join_key
from healthscore.adapters.dynamo_writes import history_instant
from healthscore.domain.dataset import (
    AssociationLine,
    Event,
    RecordKey,
    StoredLink,
    StoredRecord,
)
from healthscore.domain.score_state import ScoreState, pack_rule_points, unpack_rule_points
from healthscore.ports import MAX_TRANSACTION_ITEMS, TooManyAffected, WriteRefused

if TYPE_CHECKING:
    from healthscore.adapters.memory_account_data import _Account
    from healthscore.adapters.memory_store import MemoryStore


class MemoryChangeWrites:
    """One change's writes to a MemoryStore: every condition checked, then all applied, under
    the store's lock."""

    def __init__(self, store: MemoryStore, account: str) -> None:
        self.store, self.account = store, account
        self.checks: list[Callable[[_Account], bool]] = []
        self.applies: list[Callable[[_Account], None]] = []
        self.event_check: int | None = None  # index of the check whose failure is "duplicate"

    def __len__(self) -> int:
        return len(self.applies)

    def _add(self, check: Callable[[_Account], bool], apply: Callable[[_Account], None]) -> None:
        self.checks.append(check)
        self.applies.append(apply)

    def put_event_once(self, event: Event) -> None:
        sk = join_key(event.object_type, event.object_id, event.id)
        self.event_check = len(self.checks)

        def apply(data: _Account) -> None:
            self.store.put_event(self.account, event)

        self._add(lambda data: sk not in data.events, apply)

    def put_record(self, stored: StoredRecord, at: datetime) -> None:
        sk = join_key(*stored.record.key)

        def apply(data: _Account) -> None:
            self.store.put_stored(data, stored)

        self._add(lambda data: _record_version(data, sk) == stored.version, apply)

    def set_link(self, line: AssociationLine, was: str | None, stamp: str, at: datetime) -> None:
        self._link(line, was, StoredLink(tuple(line.labels), stamp))

    def remove_link(self, line: AssociationLine, was: str | None, stamp: str | None) -> None:
        self._link(line, was, None if stamp is None else StoredLink(None, stamp))

    def hide_link(
        self, line: AssociationLine, was: str | None, deleted: str, stamp: str | None = None
    ) -> None:
        kept = stamp if stamp is not None else (was or "")
        self._link(line, was, StoredLink(tuple(line.labels), kept, deleted))

    def _link(self, line: AssociationLine, was: str | None, stored: StoredLink | None) -> None:
        """The link's register set to `stored` if it still has the stamp read (`was`; None: it
        must not exist)."""
        sk = join_key(line.from_type, line.from_id, line.to_type, line.to_id)

        def holds(data: _Account) -> bool:
            found = data.link_stamps.get(sk)
            return found is None if was is None else found is not None and found.stamp == was

        self._add(holds, lambda data: self.store.put_link(data, line, stored))

    def mark_applied(self, stamp: str, definition_id: str, key: RecordKey) -> None:
        marker = (stamp, definition_id, key)
        self._add(lambda data: marker not in data.applied, lambda data: data.applied.add(marker))

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
        sk = f"{history_instant(at)}#{entry.get('sequence', 0):06d}"
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
        override=copy.deepcopy(state.override),
        stale=list(state.stale),
    )


def _stored(state: ScoreState) -> ScoreState:
    """What a write stores: a copy at the next version, its rules' points by digest (as
    DynamoDB keeps them)."""
    stored = replace(_copy(state), version=(state.version or 0) + 1, updated_at=None)
    stored.rules = unpack_rule_points(pack_rule_points(state.rules))
    return stored


def _version_of(state: ScoreState | None) -> int | None:
    return None if state is None else state.version


def _record_version(data: _Account, sk: str) -> int | None:
    stored = data.stored.get(sk)
    return None if stored is None else stored.version
