"""The scorer keeps an account's live scores per live marker: what that saves, and why a change of
score or segment is never missed — the marker read with every change, a state under a newer
revision, a plan that took too long, and a recompute that waits for changes planned before it."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from healthscore.adapters.memory_store import MemoryStore
from healthscore.domain.changes import EventArrived
from healthscore.domain.dataset import AssociationLine, Event, Record
from healthscore.domain.lifecycle import Job
from healthscore.ports import Snapshot
from healthscore.services import score_writes
from healthscore.services.incremental import IncrementalScorer
from healthscore.services.recompute import run_job, wait_in_process, wait_out
from tests.scoring.support import Clock, make_live

ACCOUNT = "acme"
NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)
SEGMENT = {"id": "seg-all", "name": "All companies", "object_type": "companies"}
MEETINGS = {
    "name": "Meetings",
    "object_type": "companies",
    "segments": ["seg-all"],
    "groups": [
        {
            "name": "Engagement",
            "kind": "event",
            "max_points": 100,
            "rules": [{"event_type": "meeting_booked", "points": 10}],
        }
    ],
    "thresholds": [{"min": 0, "label": "At-risk", "color": "#d64545"}],
}


def _with_replies(raw: dict[str, Any], points: int = 5) -> dict[str, Any]:
    """The score's next revision: replies count too."""
    revised = copy.deepcopy(raw)
    revised["groups"][0]["rules"].append({"event_type": "email_replied", "points": points})
    return revised


def _portfolio(store: MemoryStore) -> None:
    store.put_segment(ACCOUNT, SEGMENT)
    store.put_record(ACCOUNT, Record("companies", "c1"))
    store.put_record(ACCOUNT, Record("contacts", "p1"))
    store.put_association(ACCOUNT, AssociationLine("companies", "c1", "contacts", "p1", ()))


def _event(n: int, kind: str = "meeting_booked") -> Event:
    return Event(f"e{n}", kind, NOW - timedelta(days=1, minutes=n), "contacts", "p1")


class Counted:
    """The store, counting the reads that load live scores and the marker reads."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.loads = self.markers = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def live_definitions(self, account: str) -> Any:
        self.loads += 1
        return self.store.live_definitions(account)

    def live_marker(self, account: str) -> int:
        self.markers += 1
        return self.store.live_marker(account)


def test_the_live_scores_are_read_once_and_again_only_when_the_marker_moves():
    # Given a live score and a scorer that has scored one event (reading the live scores once)
    store = MemoryStore()
    _portfolio(store)
    make_live(store, ACCOUNT, "health", MEETINGS, as_of=NOW)
    counted = Counted(store)
    scorer = IncrementalScorer(counted, clock=Clock(NOW))  # type: ignore[arg-type]
    scorer.apply(ACCOUNT, EventArrived(_event(1)))
    # When five more events arrive
    for n in range(2, 7):
        scorer.apply(ACCOUNT, EventArrived(_event(n)))
    # Then the live scores were not read again (the marker came with each change's states)
    assert counted.loads == 1
    # When the score is published again (replies count) and recomputed, then a reply arrives
    make_live(store, ACCOUNT, "health", _with_replies(MEETINGS), revision=2, as_of=NOW)
    scorer.apply(ACCOUNT, EventArrived(_event(20, "email_replied")))
    # Then the scorer read them again and scored the reply with the new revision
    assert counted.loads == 2
    state = store.score(ACCOUNT, "health", ("companies", "c1"))
    assert state is not None
    assert (state.revision, state.score) == (2, 6 * 10 + 5)


class StaleMarker(Counted):
    """A marker read that lags (DynamoDB's eventually consistent read): the first `lag` reads
    with states return the marker as it was when this wrapper was made."""

    def __init__(self, store: MemoryStore, lag: int) -> None:
        super().__init__(store)
        self.old, self.lag = store.live_marker(ACCOUNT), lag

    def snapshot(self, account: str, *args: Any, **kwargs: Any) -> Snapshot:
        found = self.store.snapshot(account, *args, **kwargs)
        if self.lag > 0:
            self.lag -= 1
            return replace(found, marker=self.old)
        return found


def test_a_state_under_a_newer_revision_makes_the_scorer_read_the_live_scores_again():
    # Given a scorer that read revision 1 (meetings 10 points), then revision 2 (meetings 20
    # points) published and recomputed — and a marker read that still shows the old marker
    store = MemoryStore()
    _portfolio(store)
    make_live(store, ACCOUNT, "health", MEETINGS, as_of=NOW)
    scorer = IncrementalScorer(store, clock=Clock(NOW))
    scorer.apply(ACCOUNT, EventArrived(_event(1)))
    lagging = StaleMarker(store, lag=1)
    doubled = copy.deepcopy(MEETINGS)
    doubled["groups"][0]["rules"][0]["points"] = 20
    make_live(store, ACCOUNT, "health", doubled, revision=2, as_of=NOW)
    scorer.store = lagging  # type: ignore[assignment]
    scorer.revisions.store = lagging  # type: ignore[assignment]
    # When a meeting arrives
    scorer.apply(ACCOUNT, EventArrived(_event(2)))
    # Then the company's state (already at revision 2) told it the live scores had changed:
    # it read them again and counted the meeting under revision 2
    assert lagging.loads == 1
    state = store.score(ACCOUNT, "health", ("companies", "c1"))
    assert state is not None
    assert (state.revision, state.score) == (2, 2 * 20)


def test_a_plan_older_than_the_attempt_limit_reads_the_marker_again_before_it_commits(
    monkeypatch: pytest.MonkeyPatch,
):
    # Given a scorer whose plans always take longer than the limit
    monkeypatch.setattr(score_writes, "ATTEMPT_SECONDS", -1.0)
    store = MemoryStore()
    _portfolio(store)
    make_live(store, ACCOUNT, "health", MEETINGS, as_of=NOW)
    counted = Counted(store)
    scorer = IncrementalScorer(counted, clock=Clock(NOW))  # type: ignore[arg-type]
    scorer.revisions.load(ACCOUNT)
    before = counted.markers
    # When an event is scored
    scorer.apply(ACCOUNT, EventArrived(_event(1)))
    # Then it read the marker again before committing (unchanged: it committed)
    assert counted.markers == before + 1
    state = store.score(ACCOUNT, "health", ("companies", "c1"))
    assert state is not None
    assert state.score == 10


class Paused(Counted):
    """Pauses the first change right after its read of the marker, until released."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self.read = threading.Event()
        self.release = threading.Event()

    def snapshot(self, account: str, *args: Any, **kwargs: Any) -> Snapshot:
        found = self.store.snapshot(account, *args, **kwargs)
        if not self.read.is_set():
            self.read.set()
            assert self.release.wait(10)
        return found


@pytest.mark.parametrize("settle", ["in-process", "none"])
def test_a_recompute_waits_for_a_change_planned_before_its_score_changed(settle: str):
    # Given a live score counting meetings, and a reply — not counted yet — being scored by a
    # scorer paused between its read of the marker and its commit
    store = MemoryStore()
    _portfolio(store)
    make_live(store, ACCOUNT, "health", MEETINGS, as_of=NOW)
    paused = Paused(store)
    scorer = IncrementalScorer(paused, clock=Clock(NOW))  # type: ignore[arg-type]
    scorer.revisions.load(ACCOUNT)
    reply = threading.Thread(
        target=scorer.apply, args=(ACCOUNT, EventArrived(_event(1, "email_replied")))
    )
    reply.start()
    assert paused.read.wait(10)
    # When the score is published with replies counted and its job runs (in another thread)
    store.put_live_definition(ACCOUNT, "health", _with_replies(MEETINGS), 2)
    at = datetime.now(UTC)
    store.save_job(ACCOUNT, Job("job-2", "update", "queued", at, at, "health", {}))
    wait = wait_in_process if settle == "in-process" else lambda _changed: None
    job = threading.Thread(target=run_job, args=(store, ACCOUNT, "job-2", NOW, None, 7, wait))
    job.start()
    job.join(0.5)
    waited = job.is_alive()
    paused.release.set()
    reply.join(10)
    job.join(10)
    # Then with the in-process wait the job exported only once the reply was stored, and the
    # reply counts under the new revision; without it the export missed the reply for good
    state = store.score(ACCOUNT, "health", ("companies", "c1"))
    assert state is not None
    assert store.job(ACCOUNT, "job-2").status == "succeeded"  # type: ignore[union-attr]
    if settle == "in-process":
        assert waited
        assert (state.revision, state.score) == (2, 5)
    else:
        assert not waited
        assert state.score == 0  # the reply is stored, but no score counts it


def test_on_aws_a_recompute_waits_out_the_settle_time_after_the_change():
    # Given a change 10 s ago, and a settle time of 30 s
    slept: list[float] = []
    changed = datetime.now(UTC) - timedelta(seconds=10)
    # When the recompute is about to export
    wait_out(changed, 30, sleep=slept.append)
    # Then it sleeps the 20 s left, and not at all once they have passed
    assert len(slept) == 1
    assert 19 < slept[0] <= 20
    wait_out(changed - timedelta(seconds=60), 30, sleep=slept.append)
    assert len(slept) == 1


def test_the_in_process_wait_ends_as_soon_as_the_changes_read_before_are_done():
    # Given a change in flight, begun before the score changed, and one begun after
    flight = score_writes.InFlight()
    before, after = datetime.now(UTC), datetime.now(UTC) + timedelta(seconds=1)
    flight.begin(before)
    flight.begin(after)
    threading.Timer(0.2, flight.end, args=(before,)).start()
    # When a recompute waits for the changes read before `changed`
    started = time.monotonic()
    flight.wait_before(before + timedelta(milliseconds=500))
    # Then it waited for the first to end, not for the second
    assert 0.15 < time.monotonic() - started < 2
