"""What the incremental scorer reads for one change, and what a record shares with the records
linked to it: the reads helper that fetches the live marker with the first snapshot, the events
a contact shares with its companies (read once per change), a record's contribution to a linked
record, and an event's history cause."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from healthscore.domain.dataset import Event, Record, RecordKey, StoredRecord
from healthscore.domain.tallies import Tally, contribution
from healthscore.ports import RecordLinks, ScoreStore, Snapshot
from healthscore.services.score_writes import LiveRevision


def counts(stored: StoredRecord | None) -> bool:
    """Whether a record's events and properties count: it was never stored (links and events
    can arrive before it), or it is visible — not while it is tombstoned."""
    return stored is None or stored.visible


def share(
    live: LiveRevision,
    stored: StoredRecord | None,
    key: RecordKey,
    labels: frozenset[str] | None,
    history: list[Event],
) -> Tally:
    """What a record contributes to a record linked to it with `labels` (None: not linked)."""
    if labels is None:
        return Tally()
    if not counts(stored):
        return contribution(live.definition, Record(*key), labels, [])
    record = stored.record if stored is not None else Record(*key)
    return contribution(live.definition, record, labels, history)


class EventsShared:
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


def event_cause(event: Event) -> dict[str, Any]:
    owner = event.owner
    return {
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


class PlanReads:
    """What one plan reads, in the fewest requests: the live marker comes with the first
    snapshot (score states and records in one batch), and when it was read."""

    def __init__(self, store: ScoreStore, account: str, consistent: bool) -> None:
        self.store, self.account, self.consistent = store, account, consistent
        self.marker: int | None = None
        self.read_at = 0.0  # monotonic

    def snapshot(
        self, states: Iterable[tuple[str, RecordKey]] = (), records: Iterable[RecordKey] = ()
    ) -> Snapshot:
        found = self.store.snapshot(self.account, states, records, self.consistent)
        if self.marker is None:
            self.marker, self.read_at = found.marker, time.monotonic()
        return found

    def states(self, wanted: Iterable[tuple[str, RecordKey]]) -> dict[tuple[str, RecordKey], Any]:
        return self.snapshot(wanted).states

    def record_links(self, key: RecordKey) -> RecordLinks:
        return self.store.record_links(self.account, key)
