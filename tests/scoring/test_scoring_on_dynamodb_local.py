"""The incremental path on DynamoDB Local (AWS's emulator): cost per event, concurrent workers and
injected throttling. moto is neither thread-safe nor honest about capacity, so these run here."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from healthscore.adapters.dynamo_meter import metered
from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.dev.local_stack import (
    LocalLambdaContext,
)
from healthscore.domain.change_messages import encode_change
from healthscore.domain.changes import EventArrived, PropertiesChanged
from healthscore.domain.dataset import AssociationLine, Event, Record
from healthscore.services.incremental import IncrementalScorer
from healthscore.services.sweep import Sweep
from tests.scoring.support import (
    CUSTOMER_HEALTH,
    Clock,
    batch_engine_scores,
    drain_through_scorer,
    item_size,
    make_live,
    seed_states,
    stored_scores,
)

ACCOUNT = "acme"
SEGMENT = {"id": "seg-all-companies", "name": "All companies", "object_type": "companies"}
EVENT_TYPES = ("meeting_booked", "email_replied", "document_viewed", "call_ended")


def _event(n: int, contact: str, day: datetime, rng: random.Random) -> Event:
    kind = rng.choice(EVENT_TYPES)
    properties: dict[str, Any] = {}
    if kind == "call_ended":
        properties = {"call_type": "video", "duration_seconds": rng.choice([300, 1200])}
    return Event(f"e{n}", kind, day + timedelta(minutes=n % 600), "contacts", contact, properties)


def _portfolio(store: DynamoStore, companies: int, contacts: int) -> dict[str, list[str]]:
    store.put_segment(ACCOUNT, SEGMENT)
    people: dict[str, list[str]] = {}
    for c in range(companies):
        company = f"c{c:02d}"
        store.put_record(ACCOUNT, Record("companies", company, {"nps_score": 5 + c % 5}))
        people[company] = []
        for p in range(contacts):
            contact = f"p{c:02d}-{p}"
            store.put_record(ACCOUNT, Record("contacts", contact, {"role": "user"}))
            store.put_association(
                ACCOUNT, AssociationLine("companies", company, "contacts", contact, ("Champion",))
            )
            people[company].append(contact)
    return people


def _saturating(n: int, contact: str, day: datetime) -> Event:
    """Meetings, replies and document views within the last ten days: enough of each to reach
    the rules' limits, so a further one moves no score (and writes no history) either way."""
    kind = ("meeting_booked",) * 4 + ("email_replied",) * 3 + ("document_viewed",) * 3
    return Event(f"e{n}", kind[n % 10], day + timedelta(minutes=n % 600), "contacts", contact)


def _seed_events(store: DynamoStore, events: list[Event]) -> None:
    """Prior history, stored as it was before the score went live (not scored one by one)."""
    with store.tables.events.batch_write() as batch:
        for event in events:
            batch.save(store.event_item(ACCOUNT, event))


def _year(n: int, contact: str, today: datetime, rng: random.Random) -> Event:
    """One of a year of mixed daily activity: every type the score counts, on any of 365 days."""
    return _event(n, contact, today - timedelta(days=1 + n % 365), rng)


def test_an_event_costs_three_requests_whatever_the_companys_history(local_store):
    # Given three companies, one contact each: 10 prior events, 10,000 on the same ten days,
    # and 3,650 of mixed types over a year (the tally holds a year's days)
    people = _portfolio(local_store, 3, 1)
    clock = Clock(datetime(2026, 6, 15, 9, tzinfo=UTC))
    days = [clock() - timedelta(days=d + 1) for d in range(10)]
    small, big, year = people["c00"][0], people["c01"][0], people["c02"][0]
    rng = random.Random(365)
    prior = [_saturating(n, small, days[n]) for n in range(10)]
    prior += [_saturating(100 + n, big, days[n % 10]) for n in range(10_000)]
    prior += [_year(20_000 + n, year, clock(), rng) for n in range(3_650)]
    _seed_events(local_store, prior)
    make_live(local_store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=clock())
    scorer = IncrementalScorer(local_store, clock=clock)
    scorer.revisions.load(ACCOUNT)  # the live scores are read once per scorer, then kept
    # When each contact's next 20 events are scored (metered)
    costs = {}
    for contact in (small, big, year):
        new = [_saturating(50_000 + n, contact, days[n % 10]) for n in range(20)]
        with metered() as meter:
            for event in new:
                scorer.apply(ACCOUNT, EventArrived(event))
        costs[contact] = (
            meter.total_requests / 20,
            meter.read_units / 20,
            meter.write_units / 20,
        )
    # Then the first two cost exactly the same — flat in history — and every event at most
    # 3 requests, 2 RCU and 6 WCU (a Query for the contact and its links, one BatchGetItem for
    # the live marker and the company's state, one write)
    print(f"per event (requests, RCU, WCU): {costs}")
    assert costs[small] == costs[big]
    for requests, read_units, write_units in costs.values():
        assert requests <= 3
        assert 0 < read_units <= 2  # DynamoDB Local reports capacity: the bounds mean something
        assert 0 < write_units <= 6
    # and the year-long company's state is one write unit (under 1 KB) however long its history
    item = local_store.tables.scores.get(f"{ACCOUNT}#health", "companies#c02")
    assert item_size(item) < 1024, item_size(item)


def _worker_run(store: DynamoStore, events: list[Event], clock: Clock, workers: int) -> None:
    pending = list(events)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        scorer = IncrementalScorer(store, clock=clock)
        while True:
            with lock:
                if not pending:
                    return
                event = pending.pop()
            try:
                scorer.apply(ACCOUNT, EventArrived(event))
            except BaseException as error:  # reported below: a lost event fails the test
                errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]


@pytest.mark.parametrize(
    ("workers", "events_count", "companies"),
    [
        pytest.param(4, 200, 5, id="4-workers-200-events"),
        pytest.param(8, 5000, 10, id="8-workers-5000-events", marks=pytest.mark.soak),
    ],
)
def test_concurrent_workers_scoring_events_at_hot_companies_lose_no_update(
    local_store, tmp_path, workers, events_count, companies
):
    # Given a few companies with 3 contacts each and a live score (10 and 8 workers in make soak)
    people = _portfolio(local_store, companies, 3)
    clock = Clock(datetime(2026, 6, 15, 9, tzinfo=UTC))
    make_live(local_store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=clock())
    rng = random.Random(8)
    contacts = [p for group in people.values() for p in group]
    events = [
        _event(n, rng.choice(contacts), clock() - timedelta(days=rng.randrange(200)), rng)
        for n in range(events_count)
    ]
    # When the workers score them all at once (every one lands on one of a few hot companies)
    _worker_run(local_store, events, clock, workers=workers)
    # Then every event counted exactly once: the scores are the batch engine's
    assert stored_scores(local_store, ACCOUNT, "health") == batch_engine_scores(
        local_store, ACCOUNT, SEGMENT, tmp_path / "export", clock()
    )


@pytest.mark.parametrize(
    "events_count",
    [pytest.param(60, id="60-events"), pytest.param(250, id="250-events", marks=pytest.mark.soak)],
)
def test_with_10_percent_of_calls_throttled_redelivery_completes_and_nothing_is_lost(
    local_store, tmp_path, monkeypatch, events_count
):
    # Given the scorer function behind a changes queue with its DLQ (as in template.yaml)
    people = _portfolio(local_store, 4, 2)
    now = datetime.now(UTC)
    make_live(local_store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=now)
    rng = random.Random(10)
    contacts = [p for group in people.values() for p in group]
    changes: list[Any] = [
        EventArrived(_event(n, rng.choice(contacts), now - timedelta(days=rng.randrange(90)), rng))
        for n in range(events_count)
    ]
    changes += [
        PropertiesChanged("companies", company, {"nps_score": rng.randrange(11)}, 1000 + n)
        for n, company in enumerate(people)
    ]
    rng.shuffle(changes)
    # When the scorer function drains the queue with 10 % of DynamoDB calls failing
    drained = drain_through_scorer(
        local_store, monkeypatch, [encode_change(ACCOUNT, c) for c in changes], 0.10, 3
    )
    # Then the faults were absorbed — throttled reads retried in place, throttled commits
    # retried or redelivered — nothing went to the DLQ and no update was lost
    print(f"{drained.faults_injected} faults injected; {drained.redelivered} redelivered")
    assert drained.faults_injected > 0
    assert drained.dead_letters == []
    assert stored_scores(local_store, ACCOUNT, "health") == batch_engine_scores(
        local_store, ACCOUNT, SEGMENT, tmp_path / "export", datetime.now(UTC)
    )


def _context() -> Any:
    return LocalLambdaContext()


@pytest.mark.parametrize(
    "states",
    [
        pytest.param(1_000, id="1000-states"),
        pytest.param(10_000, id="10000-states", marks=pytest.mark.soak),
    ],
)
def test_the_sweep_reads_only_the_due_records(local_store, states):
    # Given scored companies of which 1 % are due today (100,000 in `make bench`)
    today = datetime(2026, 6, 15, tzinfo=UTC).date()
    local_store.put_segment(ACCOUNT, SEGMENT)
    make_live(local_store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=datetime.now(UTC))
    due = seed_states(local_store, ACCOUNT, "health", CUSTOMER_HEALTH, states, 100, today)
    clock = Clock(datetime(2026, 6, 15, 6, tzinfo=UTC))
    # When the sweep runs
    with metered() as meter:
        summary = Sweep(local_store, clock=clock).run()
    # Then it read each due state once (its key from the keys-only index, then the state in a
    # batch; plus the live marker, definition and segment), never scanned, and moved every due
    # state on to a later day
    print(f"sweep: {due} due of {states:,}; {meter.summary()}; {meter.items_by_operation}")
    assert summary.due == summary.rescored == due == states // 100
    assert meter.items_by_operation["BatchGetItem"] == due
    assert meter.items_read <= 2 * due + 3
    assert "Scan" not in meter.requests
    assert list(local_store.due_states(today)) == []
