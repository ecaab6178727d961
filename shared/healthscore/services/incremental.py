"""The incremental scorer: one change in, the score states it affects updated, in one transaction.

For each live score of the account, a change moves the tallies (domain/tallies.py) of exactly
the records it touches — an event its owner's (contacts score) or its contact's companies'
(companies score); a property change its record's own tally and its contribution to the records
associated with it; a link or label change the contribution of one end to the other — then
rescores them from the tallies alone, never rereading history. Everything the change writes
(the event or record, the links, every affected score state with its version condition, the
history entries, and a check that the score is still live at the revision used) goes into one
DynamoDB transaction. So:

- a change is applied once or not at all: an event whose put is refused (already stored) was
  applied with it, atomically — a redelivered duplicate is recognised and changes nothing;
- concurrent changes to one record serialise on its state's version: the loser reads again
  and retries (`MAX_ATTEMPTS`, with jittered backoff), so no update is lost;
- a state written under an older revision, or missing, is rebuilt from the stored
  neighbourhood (one-off, O(that record's history)); afterwards each event costs O(1) requests.

Status changes are published (EventBridge `Health status changed`) after the commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from healthscore.domain.changes import (
    AssociationChanged,
    Change,
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
    RecordsMerged,
)
from healthscore.domain.dataset import AssociationLine, Event, Record, RecordKey, StoredRecord
from healthscore.domain.score_state import ScoreState
from healthscore.domain.tallies import (
    Tally,
    compact,
    contact_events,
    contribution,
    own_events,
    referenced_properties,
)
from healthscore.domain.values import utc_day
from healthscore.ports import ScoreStore
from healthscore.services.score_writes import (
    MAX_ATTEMPTS,
    THROTTLE_RETRIES,
    LiveRevision,
    LiveRevisions,
    Outcome,
    Publisher,
    ScoreWrite,
    current_tally,
    until_committed,
)


class IncrementalScorer:
    """Applies changes to one deployment's tables (the scorer function's use case)."""

    def __init__(
        self,
        store: ScoreStore,
        publisher: Publisher | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.revisions = LiveRevisions(store)
        self.publisher = publisher
        self.clock = clock
        self.sleep = sleep

    def apply(self, account: str, change: Change) -> Outcome:
        """Apply the change (retrying lost races); publish the status changes it caused."""
        if isinstance(change, RecordsMerged):
            return self._merge(account, change)

        def attempt(n: int) -> Outcome:
            outcome = self._plan(account, change, self.clock()).commit()
            outcome.attempts = n
            return outcome

        outcome = until_committed(
            attempt,
            sleep=self.sleep,
            contention=f"{change.summary}: its records kept changing under it "
            f"({MAX_ATTEMPTS} attempts)",
            on_refused=lambda refused, n: (
                Outcome(duplicate=True, attempts=n) if refused.duplicate else None
            ),
            throttle_retries=THROTTLE_RETRIES,
        )
        if outcome.duplicate:
            return outcome
        if self.publisher is not None and outcome.status_changes:
            self.publisher.publish(outcome.status_changes)
        if isinstance(change, RecordDeleted):
            self.store.delete_events(account, change.key)
        return outcome

    # -- planning one attempt ------------------------------------------------------------------

    def _plan(self, account: str, change: Change, at: datetime) -> ScoreWrite:
        today = utc_day(at)
        lives = self.revisions.of(account)
        if isinstance(change, EventArrived):
            return self._event(account, change.event, lives, today, at)
        if isinstance(change, PropertiesChanged):
            return self._properties(account, change, lives, today, at)
        if isinstance(change, AssociationChanged):
            return self._association(account, change, lives, today, at)
        if isinstance(change, RecordDeleted):
            return self._deletion(account, change, lives, today, at)
        raise TypeError(f"not a change: {change!r}")  # pragma: no cover - Change is closed

    def _event(
        self, account: str, event: Event, lives: list[LiveRevision], today: date, at: datetime
    ) -> ScoreWrite:
        owner = event.owner
        cause = {
            "kind": "event",
            "summary": f"{event.type} on {event.occurred_at.date().isoformat()}"
            f" by {owner[0]}/{owner[1]}",
            "events": [
                {
                    "id": event.id,
                    "type": event.type,
                    "object": f"{owner[0]}/{owner[1]}",
                    "occurred_at": event.occurred_at.isoformat(),
                }
            ],
        }
        unit = ScoreWrite(self.store, account, at, cause)
        relevant = [
            live
            for live in lives
            if any(rule.event_type == event.type for _g, rule in live.definition.rules())
        ]
        rollup = owner[0] == "contacts" and any(
            live.object_type == "companies" for live in relevant
        )
        links = self.store.associations_of(account, owner) if rollup else []
        record = self.store.record(account, owner) if relevant else None
        targets: list[tuple[LiveRevision, RecordKey, Tally]] = []
        for live in relevant:
            if live.object_type == owner[0]:
                if record is not None:
                    targets.append((live, owner, own_events(live.definition, [event])))
            elif live.object_type == "companies" and owner[0] == "contacts":
                contact = record or Record(*owner)
                for line in links:
                    if line.to_type == "companies":
                        share = contact_events(
                            live.definition, contact, frozenset(line.labels), [event]
                        )
                        targets.append((live, ("companies", line.to_id), share))
        targets = [t for t in targets if t[2].events]
        states = self.store.score_states(account, [(live.id, key) for live, key, _ in targets])
        for live, key, delta in targets:
            state = states.get((live.id, key))
            tally = current_tally(self.store, account, live, key, state, today)
            if tally is None:
                continue
            tally.add(delta)
            unit.write_state(live, key, state, tally, today)
        unit.writes.put_event_once(event)
        return unit

    def _properties(
        self,
        account: str,
        change: PropertiesChanged,
        lives: list[LiveRevision],
        today: date,
        at: datetime,
    ) -> ScoreWrite:
        key = change.key
        stored = self.store.stored_record(account, key)
        old = stored.record if stored is not None else Record(key[0], key[1], {})
        properties = dict(old.properties)
        times: dict[str, int] = dict(stored.property_times) if stored is not None else {}
        changed: set[str] = set()
        if change.replace:
            changed = set(properties) | set(change.properties)
            properties = {k: v for k, v in change.properties.items() if v is not None}
            times = dict.fromkeys(properties, change.occurred_at_ms)
        else:
            for name, value in change.properties.items():
                if times.get(name, -1) > change.occurred_at_ms:
                    continue  # a later change of this property is already stored
                times[name] = change.occurred_at_ms
                if value is None:
                    if name in properties:
                        del properties[name]
                        changed.add(name)
                elif properties.get(name) != value:
                    properties[name] = value
                    changed.add(name)
        lists = change.lists if change.lists is not None else old.lists
        new = Record(key[0], key[1], properties, lists)
        cause = {
            "kind": "property",
            "summary": change.summary,
            "record": f"{key[0]}/{key[1]}",
            "properties": sorted(changed),
        }
        unit = ScoreWrite(self.store, account, at, cause)
        if stored is not None and new == old and not change.created:
            return unit  # nothing new: already applied, or older than what is stored
        # the version condition serialises changes of one record
        version = stored.version if stored is not None else None
        unit.writes.put_record(StoredRecord(new, times, version), at)
        links = self.store.associations_of(account, key)
        shared_events = _EventsShared(self.store, account)
        wanted: list[tuple[LiveRevision, RecordKey]] = []
        for live in lives:
            if live.object_type == key[0]:
                wanted.append((live, key))
            wanted += [
                (live, (link.to_type, link.to_id))
                for link in links
                if link.to_type == live.object_type
            ]
        states = self.store.score_states(account, [(live.id, k) for live, k in wanted])
        for live, target in wanted:
            state = states.get((live.id, target))
            if target == key:
                tally = current_tally(self.store, account, live, key, state, today, new_record=True)
                if tally is not None:
                    names = referenced_properties(live.definition, live.segments)
                    tally.properties = {k: v for k, v in properties.items() if k in names}
                    tally.lists = lists
                unit.write_state(live, key, state, tally, today)
                continue
            labels = next(
                frozenset(link.labels) for link in links if (link.to_type, link.to_id) == target
            )
            history = shared_events(live, key)
            before = contribution(live.definition, old, labels, history)
            after = contribution(live.definition, new, labels, history)
            # a stored tally, or one rebuilt from storage (which still holds the old record)
            self._move(unit, account, live, target, state, before, after, today)
        return unit

    def _association(
        self,
        account: str,
        change: AssociationChanged,
        lives: list[LiveRevision],
        today: date,
        at: datetime,
    ) -> ScoreWrite:
        line = change.line
        old_labels = self.store.association_labels(account, line)
        new_labels = None if change.removed else tuple(sorted(set(line.labels)))
        cause = {"kind": "association", "summary": change.summary}
        unit = ScoreWrite(self.store, account, at, cause)
        if (old_labels is None and new_labels is None) or (
            old_labels is not None and new_labels is not None and set(old_labels) == set(new_labels)
        ):
            return unit
        stored = AssociationLine(
            line.from_type, line.from_id, line.to_type, line.to_id, new_labels or ()
        )
        if new_labels is None:
            unit.writes.remove_link(stored, was=old_labels)
        else:
            unit.writes.set_link(stored, was=old_labels, at=at)
        ends = [(line.from_type, line.from_id), (line.to_type, line.to_id)]
        wanted = [(live, end) for end in ends for live in lives if live.object_type == end[0]]
        states = self.store.score_states(account, [(live.id, end) for live, end in wanted])
        records = {k: self.store.record(account, k) for k in ends}
        shared_events = _EventsShared(self.store, account)
        for live, end in wanted:
            other = ends[1] if end == ends[0] else ends[0]
            other_record = records[other] or Record(*other)
            history = shared_events(live, other)
            before = (
                contribution(live.definition, other_record, frozenset(old_labels), history)
                if old_labels is not None
                else Tally()
            )
            after = (
                contribution(live.definition, other_record, frozenset(new_labels), history)
                if new_labels is not None
                else Tally()
            )
            state = states.get((live.id, end))
            self._move(unit, account, live, end, state, before, after, today)
        return unit

    def _deletion(
        self,
        account: str,
        change: RecordDeleted,
        lives: list[LiveRevision],
        today: date,
        at: datetime,
    ) -> ScoreWrite:
        key = change.key
        cause = {"kind": "deletion", "summary": change.summary, "record": f"{key[0]}/{key[1]}"}
        unit = ScoreWrite(self.store, account, at, cause)
        stored = self.store.stored_record(account, key)
        links = self.store.associations_of(account, key)
        if stored is not None:
            unit.writes.delete_record(stored)
        for line in links:
            unit.writes.remove_link(line)
        record = stored.record if stored is not None else Record(key[0], key[1], {})
        wanted = [(live, key) for live in lives if live.object_type == key[0]]
        wanted += [
            (live, (link.to_type, link.to_id))
            for live in lives
            for link in links
            if link.to_type == live.object_type
        ]
        states = self.store.score_states(account, [(live.id, k) for live, k in wanted])
        shared_events = _EventsShared(self.store, account)
        for live, target in wanted:
            state = states.get((live.id, target))
            if target == key:
                if state is not None:
                    unit.write_state(live, key, state, None, today)
                continue
            labels = next(
                frozenset(link.labels) for link in links if (link.to_type, link.to_id) == target
            )
            share = contribution(live.definition, record, labels, shared_events(live, key))
            self._move(unit, account, live, target, state, share, Tally(), today)
        return unit

    def _move(
        self,
        unit: ScoreWrite,
        account: str,
        live: LiveRevision,
        target: RecordKey,
        state: ScoreState | None,
        before: Tally,
        after: Tally,
        today: date,
    ) -> None:
        """`target`'s score stops counting `before` and counts `after` instead: one record's
        contribution to an associated record (its properties, or a contact's events, under the
        link's labels) when the record, the link or its labels change."""
        for share in (before, after):
            compact(live.definition, share, today)
        if before.events == after.events and before.records == after.records:
            return
        tally = current_tally(self.store, account, live, target, state, today)
        if tally is None:
            return
        tally.subtract(before)
        tally.add(after)
        unit.write_state(live, target, state, tally, today)

    def _merge(self, account: str, change: RecordsMerged) -> Outcome:
        """Each merged record's links and events move to the primary, then it is deleted: a
        sequence of changes that are each idempotent, so a redelivered merge finishes the job."""
        total = Outcome()
        primary = (change.object_type, change.primary)
        for merged_id in change.merged:
            merged = (change.object_type, merged_id)
            if merged == primary:
                continue
            steps: list[Change] = []
            for line in self.store.associations_of(account, merged):
                if (line.to_type, line.to_id) == primary:
                    continue
                current = self.store.association_labels(
                    account, AssociationLine(*primary, line.to_type, line.to_id)
                )
                labels = tuple(sorted(set(line.labels) | set(current or ())))
                steps.append(
                    AssociationChanged(AssociationLine(*primary, line.to_type, line.to_id, labels))
                )
            for event in self.store.events_of(account, merged):
                steps.append(
                    EventArrived(
                        Event(
                            event.id,
                            event.type,
                            event.occurred_at,
                            primary[0],
                            primary[1],
                            event.properties,
                        )
                    )
                )
            steps.append(RecordDeleted(*merged))
            for step in steps:
                outcome = self.apply(account, step)
                total.written += outcome.written
                total.history += outcome.history
                total.status_changes += outcome.status_changes
        return total


class _EventsShared:
    """The events one record shares with an associated record under a score: a contact's own
    events roll up to its companies; nothing else does. Read once per change."""

    def __init__(self, store: ScoreStore, account: str) -> None:
        self.store, self.account = store, account
        self._read: dict[RecordKey, list[Event]] = {}

    def __call__(self, live: LiveRevision, source: RecordKey) -> list[Event]:
        if source[0] != "contacts" or live.object_type != "companies":
            return []
        if source not in self._read:
            self._read[source] = self.store.events_of(self.account, source)
        return self._read[source]
