"""The incremental scorer: one change in, the score states it affects updated, in one write.

For each live score of the account, a change moves the tallies (domain/tallies.py) of exactly
the records it touches — an event its owner's (contacts score) or its contact's companies'
(companies score); a property change its record's own tally and its contribution to the records
associated with it; a link or label change the contribution of one end to the other — then
rescores them from the tallies alone, never rereading history. Everything the change writes
(the event or record, the links, every affected score state with its version condition, the
history entries) goes into one DynamoDB transaction — one conditional write when it is one item.
So:

- a change is applied once or not at all: an event whose put is refused (already stored) was
  applied with it, atomically — a redelivered duplicate is recognised and changes nothing;
- concurrent changes to one record serialise on its state's version: the loser reads again
  and retries (`MAX_ATTEMPTS`, with jittered backoff), so no update is lost;
- a state written under an older revision, or missing, is rebuilt from the stored
  neighbourhood (one-off, O(that record's history)); afterwards each event costs O(1) requests.

What a change reads is few requests: the live scores are kept per live marker, and the marker
is read in the same request as the score states. An event of a contact that companies scores
roll up reads the contact and its links (one query), then the marker and its companies' states
(one batch), and writes once: 3 requests.

Status changes reach EventBridge (`Health status changed`) from the history entries committed
with the states (the history table's stream, functions/notify): none lost in a crash after the
commit, none repeated by a redelivery.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TypeVar

from healthscore.domain.changes import (
    AssociationChanged,
    Change,
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
    RecordsMerged,
    UpstreamChanged,
)
from healthscore.domain.dataset import AssociationLine, Event, Record, RecordKey, StoredRecord
from healthscore.domain.ordering import (
    change_stamp,
    link_change_applies,
    with_deletion,
    with_properties,
)
from healthscore.domain.score_state import ScoreState
from healthscore.domain.tallies import (
    Tally,
    compact,
    contact_events,
    own_events,
    referenced_properties,
)
from healthscore.domain.tally_scores import add_events
from healthscore.domain.values import utc_day
from healthscore.ports import ScoreStore, WriteRefused
from healthscore.services.change_reads import (
    EventsShared,
    PlanReads,
    counts,
    event_cause,
    share,
)
from healthscore.services.merges import apply_merge
from healthscore.services.score_writes import (
    IN_FLIGHT,
    MAX_ATTEMPTS,
    THROTTLE_RETRIES,
    LiveRevision,
    LiveRevisions,
    Lives,
    LivesChanged,
    Outcome,
    ScoreWrite,
    change_days,
    current_tally,
    overlay_outputs,
    until_committed,
    upstream_outputs,
)
from healthscore.services.upstream import plan_upstream

T = TypeVar("T")
LINKS_PER_STEP = 20  # links a deletion removes per step (each is stored both ways)
MAX_MERGE_HOPS = 5  # an event for a record merged into one since merged: follow this far
MAX_LIVE_READS = 3  # times the live scores are read again for one attempt's plan


class IncrementalScorer:
    """Applies changes to one deployment's tables (the scorer function's use case)."""

    def __init__(
        self,
        store: ScoreStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.revisions = LiveRevisions(store)
        self.clock = clock
        self.sleep = sleep

    def apply(self, account: str, change: Change) -> Outcome:
        """Apply the change (retrying lost races). The status changes it caused are in the
        outcome, and reach EventBridge from the history entries it committed (functions/notify)."""
        if isinstance(change, RecordsMerged):
            return apply_merge(self.store, self.apply, self.sleep, account, change)

        total = Outcome()
        more = True
        while more:  # a deletion of a record with many links goes in steps, each retried
            more = False

            def attempt(n: int) -> Outcome:
                nonlocal more
                started = datetime.now(UTC)
                IN_FLIGHT.begin(started)  # a local recompute waits for it (InFlight)
                try:
                    unit = self._planned(account, change, consistent=n > 1)
                    outcome = unit.commit()
                except LivesChanged as changed:  # planned too long ago: a lost race
                    raise WriteRefused([str(changed)]) from changed
                finally:
                    IN_FLIGHT.end(started)
                outcome.attempts, more = n, unit.more
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
            total.attempts = outcome.attempts
            total.written += outcome.written
            total.history += outcome.history
            total.status_changes += outcome.status_changes
        return total

    # -- planning one attempt ------------------------------------------------------------------

    def _planned(self, account: str, change: Change, consistent: bool) -> ScoreWrite:
        """The change planned with the account's live scores as they are: as kept, while the
        marker read with the plan's states says so; else read again and planned again."""
        lives = self.revisions.cached(account)
        for _ in range(MAX_LIVE_READS):
            try:
                unit = self._plan(account, change, lives, self.clock(), consistent)
                if unit.marker is None:  # nothing else was read with it
                    unit.saw(self.store.live_marker(account))
                if unit.marker == lives.marker:
                    return unit
            except LivesChanged:  # a state already under a newer revision
                pass
            lives = self.revisions.load(account)
        raise LivesChanged(f"{change.summary}: the live scores kept changing while it was planned")

    def _plan(
        self, account: str, change: Change, lives: Lives, at: datetime, consistent: bool
    ) -> ScoreWrite:
        today = utc_day(at)
        reads = PlanReads(self.store, account, consistent)
        if isinstance(change, EventArrived):
            unit = self._event(reads, change.event, lives.scores, today, at)
        elif isinstance(change, PropertiesChanged):
            unit = self._properties(reads, change, lives.scores, today, at)
        elif isinstance(change, AssociationChanged):
            unit = self._association(reads, change, lives.scores, today, at)
        elif isinstance(change, RecordDeleted):
            unit = self._deletion(reads, change, lives.scores, today, at)
        elif isinstance(change, UpstreamChanged):
            unit = plan_upstream(self.store, account, change, lives.scores, today, at)
        else:  # pragma: no cover - Change is closed
            raise TypeError(f"not a change: {change!r}")
        if unit.marker is None and reads.marker is not None:
            unit.saw(reads.marker, reads.read_at)
        unit.stamp = change_stamp(change) + (f"#{unit.step}" if unit.step else "")
        return unit

    def _event(
        self, reads: PlanReads, event: Event, lives: list[LiveRevision], today: date, at: datetime
    ) -> ScoreWrite:
        relevant = [live for live in lives if event.type in live.event_types]
        rollup = event.object_type == "contacts" and any(
            live.object_type == "companies" for live in relevant
        )
        for _hop in range(MAX_MERGE_HOPS):  # an event for a merged record is its survivor's
            owner = event.owner
            own = [live for live in relevant if live.object_type == owner[0]]
            if rollup:  # the contact and its links in one query, then the states at once
                found = reads.record_links(owner)
                stored, links = found.stored, found.links
            else:
                snap = reads.snapshot([(live.id, owner) for live in own], [owner])
                stored, links = snap.records.get(owner), []
            if stored is None or stored.visible or stored.merged_into is None:
                break
            event = replace(event, object_id=stored.merged_into)
        unit = ScoreWrite(self.store, reads.account, at, event_cause(event))
        unit.writes.put_event_once(event)
        if not counts(stored):
            return unit  # kept: it counts if its record comes back
        record = stored.record if stored is not None else None
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
        if rollup:  # the marker with the states (else it came with the owner's record)
            states = reads.snapshot([(live.id, key) for live, key, _ in targets]).states
        else:
            states = snap.states
        for live, key, delta in targets:
            state = states.get((live.id, key))
            tally = current_tally(self.store, reads.account, live, key, state, today)
            if tally is None:
                continue
            add_events(live.definition, tally, delta, today)
            unit.write_state(live, key, state, tally, today)
        return unit

    def _properties(
        self,
        reads: PlanReads,
        change: PropertiesChanged,
        lives: list[LiveRevision],
        today: date,
        at: datetime,
    ) -> ScoreWrite:
        key = change.key
        found = reads.record_links(key)
        stored = found.stored
        new = with_properties(stored, key, change, change_stamp(change))
        before = stored.record.properties if stored is not None else {}
        after = new.record.properties if new is not None else before
        changed = {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}
        cause = {
            "kind": "property",
            "summary": change.summary,
            "record": f"{key[0]}/{key[1]}",
            "properties": sorted(changed),
        }
        unit = ScoreWrite(self.store, reads.account, at, cause)
        if new is None:
            return unit  # nothing new: already applied, or older than what is stored
        # the version condition serialises changes of one record
        unit.writes.put_record(new, at)
        links = found.links
        self._rescore_record(unit, reads, lives, key, stored, new, links, links, today)
        return unit

    def _deletion(
        self,
        reads: PlanReads,
        change: RecordDeleted,
        lives: list[LiveRevision],
        today: date,
        at: datetime,
    ) -> ScoreWrite:
        key = change.key
        cause = {"kind": "deletion", "summary": change.summary, "record": f"{key[0]}/{key[1]}"}
        unit = ScoreWrite(self.store, reads.account, at, cause)
        found = reads.record_links(key)
        stored = found.stored
        deleted_at = change_stamp(change)
        new = with_deletion(stored, key, deleted_at, change.merged_into)
        if new is None:
            return unit  # a later deletion is already stored
        links = found.stamped
        going = [(line, stamp) for line, stamp in links if stamp <= deleted_at]
        if change.merged_into is not None:  # the merge moved them all, tombstones too
            going = [(line, r.stamp) for line, r in found.registers]
        merged = change.merged_into is not None

        def drop(line: AssociationLine, stamp: str) -> None:
            # a merge moved them (tombstones too): they go; a deletion hides them, labels and
            # stamps kept, so a merge stamped before it — however late it arrives — moves them
            if merged:
                unit.writes.remove_link(line, was=stamp, stamp=None)
            else:
                unit.writes.hide_link(line, was=stamp, deleted=deleted_at)

        if len(going) > LINKS_PER_STEP:
            # a step: some links go first (each step is what removing them would do); the
            # record's tombstone comes with the last step, so a retry finds the rest
            step = going[:LINKS_PER_STEP]
            for line, stamp in step:
                drop(line, stamp)
            stepped = {line for line, _ in step}
            before = [line for line, _ in links]
            after = [line for line in before if line not in stepped]
            same = stored or StoredRecord(Record(*key))
            self._rescore_record(unit, reads, lives, key, stored, same, before, after, today)
            unit.more = True
            unit.step = f"{step[0][0].to_type}/{step[0][0].to_id}"  # this step's own markers
            return unit
        unit.writes.put_record(new, at)
        gone = {line for line, _ in going}
        kept = [line for line, _ in links if line not in gone]  # linked after the deletion
        for line, stamp in going:
            drop(line, stamp)
        before = [line for line, _ in links]
        self._rescore_record(unit, reads, lives, key, stored, new, before, kept, today)
        return unit

    def _survivor(self, account: str, key: RecordKey) -> RecordKey:
        """The record a change to `key` is about: itself, or the one it was merged into."""
        for _hop in range(MAX_MERGE_HOPS):
            stored = self.store.stored_record(account, key)
            if stored is None or stored.visible or stored.merged_into is None:
                return key
            key = (key[0], stored.merged_into)
        return key

    def _rescore_record(
        self,
        unit: ScoreWrite,
        reads: PlanReads,
        lives: list[LiveRevision],
        key: RecordKey,
        old: StoredRecord | None,
        new: StoredRecord,
        links_before: list[AssociationLine],
        links_after: list[AssociationLine],
        today: date,
    ) -> None:
        """The record went from `old` to `new` (its properties, its existence, its links):
        its own score, and what it contributes to each record linked before or after."""
        account = reads.account
        labels_before = {(x.to_type, x.to_id): frozenset(x.labels) for x in links_before}
        labels_after = {(x.to_type, x.to_id): frozenset(x.labels) for x in links_after}
        wanted: list[tuple[LiveRevision, RecordKey]] = []
        for live in lives:
            if live.object_type == key[0]:
                wanted.append((live, key))
            wanted += [
                (live, other)
                for other in sorted(labels_before.keys() | labels_after.keys())
                if other[0] == live.object_type
            ]
        states = reads.states([(live.id, k) for live, k in wanted])
        # other scores' outputs as they were before this change: a score reading one that this
        # change moves is rescored by the UpstreamChanged its history entry feeds back, with a
        # cause naming it (the same whatever order the live scores are in)
        outputs_then = {k: copy.copy(state) for k, state in states.items()}
        shared_events = EventsShared(self.store, account)
        revived = new.visible and (old is None or not old.visible)
        for live, target in wanted:
            state = states.get((live.id, target))
            if target == key:
                tally = None
                if new.visible:
                    tally = current_tally(
                        self.store,
                        account,
                        live,
                        key,
                        state,
                        today,
                        new_record=True,
                        revived=revived and old is not None,
                    )
                if tally is not None:
                    names = referenced_properties(live.definition, live.segments)
                    tally.properties = {
                        k: v for k, v in new.record.properties.items() if k in names
                    }
                    tally.lists = new.record.lists
                    tally.changed = change_days(live.definition, new)
                    tally.totals = None  # its properties changed: score it whole
                    overlay_outputs(
                        tally.properties,
                        upstream_outputs(self.store, account, live, key, outputs_then),
                    )
                    for other in labels_before.keys() - labels_after.keys():
                        # a link its deletion took while a newer change keeps it visible
                        dropped = share(
                            live,
                            self.store.stored_record(account, other),
                            other,
                            labels_before[other],
                            shared_events(live, other),
                        )
                        compact(live.definition, dropped, today)
                        tally.subtract(dropped)
                if tally is not None or state is not None:
                    unit.write_state(live, key, state, tally, today)
                continue
            history = shared_events(live, key)
            before = share(live, old, key, labels_before.get(target), history)
            after = share(live, new, key, labels_after.get(target), history)
            self._move(unit, account, live, target, state, before, after, today)

    def _association(
        self,
        reads: PlanReads,
        change: AssociationChanged,
        lives: list[LiveRevision],
        today: date,
        at: datetime,
    ) -> ScoreWrite:
        account = reads.account
        line = change.line
        cause = {"kind": "association", "summary": change.summary}
        unit = ScoreWrite(self.store, account, at, cause)
        ends = [self._survivor(account, end) for end in line.ends]  # a merged end: the primary
        if ends[0] == ends[1]:
            return unit  # the link of two records merged into one
        wanted = [(live, end) for end in ends for live in lives if live.object_type == end[0]]
        snap = reads.snapshot([(live.id, end) for live, end in wanted], ends)
        records = {k: snap.records.get(k) for k in ends}
        link = self.store.stored_link(account, AssociationLine(*ends[0], *ends[1]))
        set_at = change_stamp(change)
        if link is not None and link.stamp >= set_at:
            return unit  # older than the link's last change
        if not link_change_applies(link, records.values(), set_at):
            # older than an end's deletion: no score sees it, but the register keeps it (for a
            # merge stamped before that deletion, however late the merge arrives)
            was = link.stamp if link is not None else None
            stored_line = AssociationLine(*ends[0], *ends[1], tuple(sorted(set(line.labels))))
            if change.removed:
                unit.writes.remove_link(stored_line, was=was, stamp=set_at)
            else:
                hidden = min(r.deleted for r in records.values() if r and r.deleted > set_at)
                unit.writes.hide_link(stored_line, was=was, deleted=hidden, stamp=set_at)
            return unit
        old_labels = link.labels if link is not None and link.visible else None
        new_labels = None if change.removed else tuple(sorted(set(line.labels)))
        stored = AssociationLine(*ends[0], *ends[1], new_labels or ())
        was = link.stamp if link is not None else None
        if new_labels is None:
            unit.writes.remove_link(stored, was=was, stamp=set_at)
        else:
            unit.writes.set_link(stored, was=was, stamp=set_at, at=at)
        if (old_labels is None and new_labels is None) or (
            old_labels is not None and new_labels is not None and set(old_labels) == set(new_labels)
        ):
            return unit  # the register moves on; no score does
        states = snap.states
        shared_events = EventsShared(self.store, account)
        for live, end in wanted:
            other = ends[1] if end == ends[0] else ends[0]
            history = shared_events(live, other)
            old = None if old_labels is None else frozenset(old_labels)
            new = None if new_labels is None else frozenset(new_labels)
            before = share(live, records[other], other, old, history)
            after = share(live, records[other], other, new, history)
            state = states.get((live.id, end))
            self._move(unit, account, live, end, state, before, after, today)
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
        for part in (before, after):
            compact(live.definition, part, today)
        if before.events == after.events and before.records == after.records:
            return
        tally = current_tally(self.store, account, live, target, state, today)
        if tally is None:
            return
        tally.subtract(before)
        tally.add(after)
        unit.write_state(live, target, state, tally, today)
