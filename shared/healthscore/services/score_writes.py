"""What one change writes, all or nothing: the live revisions it scores with, the score states it
sets (each with its version condition and history entry), the check that each revision is
still live, and what the commit reports (status changes to publish). Shared by the incremental
scorer, the sweep and the recompute."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from healthscore.adapters.dataset_files import parse_segment
from healthscore.adapters.dynamo_store import (
    DynamoStore,
    Transaction,
    WriteRefused,
)
from healthscore.adapters.dynamo_tables import RecordItem, ScoreItem
from healthscore.domain.dataset import Record, RecordKey, Segment
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.reference_engine import in_scope
from healthscore.domain.score_state import (
    NewScore,
    StatusChange,
)
from healthscore.domain.tallies import (
    Tally,
    build_tally,
    compact,
    decode_tally,
    encode_tally,
    score_from_tallies,
)
from healthscore.domain.validation import parse_definition
from healthscore.services.score_states import (
    moved_rules,
    removal_entry,
    set_new_score,
    status_change,
)

MAX_ATTEMPTS = 25  # lost races for the same records before the queue redelivers the change

THROTTLE_RETRIES = 3  # throttled reads/writes retried here before the queue redelivers it

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's TransactWriteItems limit


class Publisher(Protocol):
    def publish(self, changes: Sequence[StatusChange]) -> None: ...


class ScoringContention(RuntimeError):
    """A change lost the race for its records too many times; the queue will redeliver it."""


class TooManyAffected(ValueError):
    """A change touches more records than one transaction can hold."""


@dataclass(frozen=True)
class LiveRevision:
    """A live health score as the scorer uses it: the revision its states must carry."""

    id: str
    revision: int
    definition: ScoreDefinition
    segments: tuple[Segment, ...]

    @property
    def object_type(self) -> str:
        return self.definition.object_type


@dataclass
class Outcome:
    """What applying one change did."""

    duplicate: bool = False
    written: int = 0  # score states written or removed
    history: list[dict[str, Any]] = field(default_factory=list)
    status_changes: list[StatusChange] = field(default_factory=list)
    attempts: int = 1


def live_revisions(store: DynamoStore, account: str) -> list[LiveRevision]:
    """The account's live scores, parsed (one query for definitions, one for segments when
    there is a live score)."""
    items = [d for d in store.definitions(account) if d.state == "live" and d.live]
    if not items:
        return []
    segments = {s.sk: parse_segment(s.body) for s in store.segments(account)}
    scores = []
    for item in items:
        definition = parse_definition(item.live)
        chosen = tuple(segments[s] for s in definition.segments if s in segments)
        scores.append(LiveRevision(item.sk, int(item.live_revision), definition, chosen))
    return scores


class ScoreWrite:
    """The transaction one attempt builds, and what it will report once committed."""

    def __init__(
        self,
        store: DynamoStore,
        account: str,
        at: datetime,
        cause: dict[str, Any],
        explain: Callable[[LiveRevision, list[dict[str, Any]]], str] | None = None,
    ) -> None:
        self.store, self.account, self.at, self.cause = store, account, at, cause
        self.explain = explain
        self.transaction = Transaction()
        self.outcome = Outcome()
        self._checked: set[str] = set()
        self.first_put: int | None = None  # index of the item whose refusal means "duplicate"

    def check_live(self, live: LiveRevision) -> None:
        if live.id not in self._checked:
            self._checked.add(live.id)
            self.transaction.checks.append(
                self.store.definition_is_live(self.account, live.id, live.revision)
            )

    def put(self, item: Any, condition: Any = None) -> None:
        self.transaction.puts.append((item, condition))

    def delete(self, item: Any, condition: Any = None) -> None:
        self.transaction.deletes.append((item, condition))

    def write_state(
        self,
        live: LiveRevision,
        key: RecordKey,
        before: ScoreItem | None,
        tally: Tally | None,
        today: date,
    ) -> None:
        """Score `tally` and write the state (None, or out of scope: the state goes)."""
        self.check_live(live)
        # the state's next version orders (and keeps apart) history entries of one instant
        sequence = int(before.version or 0) + 1 if before is not None else 1
        definition = live.definition
        if tally is not None:
            own = Record(key[0], key[1], tally.properties, tally.lists)
            if not in_scope(own, live.segments, today):
                tally = None
        if tally is None:
            if before is not None:
                self.delete(before)
                removal = removal_entry(before, {**self.cause, "scope": "left"}, self.at)
                self._history(live, key, removal, sequence)
            return
        compact(definition, tally, today)
        result = score_from_tallies(definition, tally, today, live.segments)
        self.write_scored(live, key, before, NewScore.from_tally(definition, result), tally)

    def write_scored(
        self,
        live: LiveRevision,
        key: RecordKey,
        before: ScoreItem | None,
        new: NewScore,
        tally: Tally | None,
    ) -> None:
        """Write a state already scored (by its tally, or by the batch engine with the tally
        that goes with it — or None: built from storage on the record's next change)."""
        self.check_live(live)
        sequence = int(before.version or 0) + 1 if before is not None else 1
        moved = moved_rules(before, new)
        cause = {**self.cause, "rules": moved}
        if self.explain is not None:
            cause["summary"] = self.explain(live, moved)
        item = before or self.store.new_score(self.account, live.id, key)
        entry = set_new_score(
            item,
            self.account,
            live.id,
            key,
            new,
            revision=live.revision,
            tallies=None if tally is None else encode_tally(tally),
            cause=cause,
            at=self.at,
        )
        self.put(item)
        self.outcome.written += 1
        if entry is not None:
            self._history(live, key, entry, sequence)

    def _history(self, live: LiveRevision, key: RecordKey, entry: dict[str, Any], seq: int) -> None:
        sequenced = {**entry, "sequence": seq}
        self.put(self.store.history_item(self.account, live.id, key, self.at, sequenced))
        self.outcome.history.append({**sequenced, "definition_id": live.id, "record": list(key)})
        change = status_change(self.account, live.id, key, sequenced)
        if change is not None:
            self.outcome.status_changes.append(change)

    def commit(self) -> Outcome:
        if len(self.transaction) > MAX_TRANSACTION_ITEMS:
            raise TooManyAffected(
                f"this change touches {len(self.transaction)} items; one transaction holds "
                f"{MAX_TRANSACTION_ITEMS}"
            )
        self.store.commit(self.transaction)
        return self.outcome


def current_tally(
    store: DynamoStore,
    account: str,
    live: LiveRevision,
    key: RecordKey,
    state: ScoreItem | None,
    today: date,
    new_record: bool = False,
) -> Tally | None:
    """The record's current tally: from its state, or rebuilt from what is stored (a new state,
    or one from an older revision). None: the record has no line, so no score (unless
    `new_record`: the change being applied creates the line)."""
    if state is not None and int(state.revision) == live.revision and state.tallies:
        tally = decode_tally(state.tallies)
    else:
        data = store.neighbourhood(account, key, contacts_events=live.object_type == "companies")
        if not data.has_record(key) and not new_record:
            return None
        tally = build_tally(live.definition, data, data.record(key), live.segments)
    compact(live.definition, tally, today)
    return tally


def record_of(item: RecordItem | None, key: RecordKey) -> Record:
    if item is None:
        return Record(key[0], key[1], {})
    return Record(
        key[0], key[1], dict(item.properties or {}), frozenset(str(v) for v in item.lists or [])
    )


def absent(store: DynamoStore) -> Any:
    return store.tables.events.pk.does_not_exist()


def put_first(unit: ScoreWrite, item: Any, condition: Any) -> None:
    """Put the item whose refusal means the change was already applied, first among puts."""
    unit.transaction.puts.insert(0, (item, condition))
    unit.first_put = len(unit.transaction.checks) + len(unit.transaction.deletes)


def refused_at(refused: WriteRefused, index: int) -> bool:
    return index < len(refused.codes) and refused.codes[index] == "ConditionalCheckFailed"
