"""Records with many links: deleting them, merging them and scoring their events take as many
transactions as they need (a DynamoDB transaction holds 100 items), every step idempotent — an
interrupted change, retried or redelivered, finishes with every score counted exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from healthscore.adapters.memory_store import MemoryStore
from healthscore.adapters.score_files import score_row
from healthscore.adapters.webhooks import parse_batch, route_to
from healthscore.domain.changes import (
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
    RecordsMerged,
)
from healthscore.domain.dataset import AssociationLine, Event, Record
from healthscore.domain.reference_engine import score
from healthscore.domain.validation import parse_definition
from healthscore.ports import ScoreStore
from healthscore.services.incremental import IncrementalScorer
from tests.scoring.support import (
    CUSTOMER_HEALTH,
    batch_engine_scores,
    drain_through_scorer,
    make_live,
    stored_scores,
)

ACCOUNT = "acme"
SEGMENT = {"id": "seg-all-companies", "name": "All companies", "object_type": "companies"}
NOW = datetime.now(UTC)


def _reference(store: ScoreStore) -> dict[str, Any]:
    """What the reference engine scores from what the store holds."""
    results = score(parse_definition(CUSTOMER_HEALTH), store.dataset(ACCOUNT), NOW)
    return {r.id: (r.score, r.status, score_row(r)["groups"]) for r in results}


def _hub(store: ScoreStore, companies: int) -> None:
    """Contact `hub` linked (as Champion) to `companies` companies, each scored, and a few
    meetings of its own; plus contact `solo`, linked to c0000 only."""
    store.put_segment(ACCOUNT, SEGMENT)
    store.put_record(ACCOUNT, Record("contacts", "hub", {"role": "Champion"}))
    store.put_record(ACCOUNT, Record("contacts", "solo", {}))
    for c in range(companies):
        company = f"c{c:04d}"
        store.put_record(ACCOUNT, Record("companies", company, {"nps_score": c % 11}))
        line = AssociationLine("companies", company, "contacts", "hub", ("Champion",))
        store.put_association(ACCOUNT, line)
    store.put_association(ACCOUNT, AssociationLine("companies", "c0000", "contacts", "solo"))
    for n in range(3):
        day = NOW - timedelta(days=3 + n)
        store.put_event(ACCOUNT, Event(f"m{n}", "meeting_booked", day, "contacts", "hub"))
    make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=NOW)


class Interrupted(RuntimeError):
    pass


class FailingCommits:
    """The store, with every `every`-th transaction failing after its writes are planned (as if
    the function died before the commit reached DynamoDB)."""

    def __init__(self, store: MemoryStore, every: int) -> None:
        self._store, self.every, self.commits, self.failed = store, every, 0, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def change_writes(self, account: str) -> Any:
        writes = self._store.change_writes(account)
        real_commit = writes.commit

        def commit() -> None:
            self.commits += 1
            if self.commits % self.every == 0:
                self.failed += 1
                raise Interrupted("injected: the function stopped before this commit")
            real_commit()

        writes.commit = commit  # type: ignore[method-assign]
        return writes


def _until_done(scorer: IncrementalScorer, change: Any) -> int:
    """Apply, redelivering after each interruption (as SQS does); how many deliveries."""
    for delivery in range(1, 200):
        try:
            scorer.apply(ACCOUNT, change)
        except Interrupted:
            continue
        return delivery
    raise AssertionError("the change never finished")


@pytest.mark.parametrize(
    "companies",
    [
        pytest.param(150, id="150-links"),
        pytest.param(2_000, id="2000-links", marks=pytest.mark.soak),
    ],
)
def test_an_event_of_a_contact_linked_to_many_scored_companies_counts_once_in_each(companies):
    # Given a contact who is Champion at many scored companies (one transaction cannot hold them)
    store = MemoryStore()
    _hub(store, companies)
    failing = FailingCommits(store, every=3)
    scorer = IncrementalScorer(failing, clock=lambda: NOW, sleep=lambda _s: None)  # type: ignore[arg-type]
    meeting = EventArrived(
        Event("m-new", "meeting_booked", NOW - timedelta(days=1), "contacts", "hub")
    )
    # When its meeting arrives, and the function stops before every third commit
    deliveries = _until_done(scorer, meeting)
    # Then it was redelivered, finished, and counted exactly once at every company
    assert failing.failed > 0
    assert deliveries > 1
    assert stored_scores(store, ACCOUNT, "health") == _reference(store)
    assert [e.id for e in store.events_of(ACCOUNT, ("contacts", "hub"))].count("m-new") == 1
    # and a redelivery once done is recognised as a duplicate and changes nothing
    before = stored_scores(store, ACCOUNT, "health")
    plain = IncrementalScorer(store, clock=lambda: NOW, sleep=lambda _s: None)
    assert plain.apply(ACCOUNT, meeting).duplicate
    assert stored_scores(store, ACCOUNT, "health") == before


@pytest.mark.parametrize(
    "companies",
    [
        pytest.param(150, id="150-links"),
        pytest.param(2_000, id="2000-links", marks=pytest.mark.soak),
    ],
)
def test_deleting_and_changing_a_contact_linked_to_many_companies_completes_in_steps(companies):
    store = MemoryStore()
    _hub(store, companies)
    failing = FailingCommits(store, every=4)
    scorer = IncrementalScorer(failing, clock=lambda: NOW, sleep=lambda _s: None)  # type: ignore[arg-type]
    # When the contact's role changes (every company's contribution moves) and it is then deleted
    at = int(NOW.timestamp() * 1000)
    _until_done(scorer, PropertiesChanged("contacts", "hub", {"role": "User"}, at - 5000))
    assert stored_scores(store, ACCOUNT, "health") == _reference(store)
    deliveries = _until_done(scorer, RecordDeleted("contacts", "hub", at - 1000, "del-1"))
    # Then it is gone with all its links, every company rescored without it
    assert deliveries > 1
    assert store.record(ACCOUNT, ("contacts", "hub")) is None
    assert store.associations_of(ACCOUNT, ("contacts", "hub")) == []
    assert store.associations_of(ACCOUNT, ("companies", "c0001")) == []
    assert stored_scores(store, ACCOUNT, "health") == _reference(store)
    # and deleting a company with many links (here: to contacts) works the same way
    for p in range(companies):
        link = AssociationLine("companies", "c0002", "contacts", f"p{p}", ("Billing",))
        store.put_association(ACCOUNT, link)
    _until_done(scorer, RecordDeleted("companies", "c0002", at, "del-2"))
    assert store.associations_of(ACCOUNT, ("companies", "c0002")) == []
    assert "c0002" not in stored_scores(store, ACCOUNT, "health")
    assert stored_scores(store, ACCOUNT, "health") == _reference(store)


@pytest.mark.parametrize(
    "links",
    [pytest.param(60, id="60-links"), pytest.param(500, id="500-links", marks=pytest.mark.soak)],
)
def test_merging_two_contacts_with_many_links_each_moves_everything_once(links):
    store = MemoryStore()
    store.put_segment(ACCOUNT, SEGMENT)
    for name in ("a", "b"):
        store.put_record(ACCOUNT, Record("contacts", name, {"role": "Champion"}))
    for c in range(2 * links):
        company = f"c{c:04d}"
        store.put_record(ACCOUNT, Record("companies", company, {"nps_score": 9}))
        owner = "a" if c < links else "b"
        store.put_association(ACCOUNT, AssociationLine("companies", company, "contacts", owner))
    store.put_event(
        ACCOUNT, Event("e-b", "meeting_booked", NOW - timedelta(days=2), "contacts", "b")
    )
    make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=NOW)
    failing = FailingCommits(store, every=5)
    scorer = IncrementalScorer(failing, clock=lambda: NOW, sleep=lambda _s: None)  # type: ignore[arg-type]
    merge = RecordsMerged("contacts", "a", ("b",), int(NOW.timestamp() * 1000), "merge-1")
    _until_done(scorer, merge)
    # Then b's links and events are a's, b is gone, and every company counts each once
    assert len(store.associations_of(ACCOUNT, ("contacts", "a"))) == 2 * links
    assert store.record(ACCOUNT, ("contacts", "b")) is None
    assert [e.id for e in store.events_of(ACCOUNT, ("contacts", "a"))] == ["e-b"]
    assert stored_scores(store, ACCOUNT, "health") == _reference(store)
    # and b's late event follows it to a
    late = EventArrived(Event("e-late", "email_replied", NOW - timedelta(days=1), "contacts", "b"))
    _until_done(scorer, late)
    assert {e.id for e in store.events_of(ACCOUNT, ("contacts", "a"))} == {"e-b", "e-late"}
    assert stored_scores(store, ACCOUNT, "health") == _reference(store)


@pytest.mark.parametrize(
    ("company_links", "contact_links"),
    [
        pytest.param(60, 25, id="60-and-2x25-links"),
        pytest.param(2_000, 500, id="2000-and-2x500-links", marks=pytest.mark.soak),
    ],
)
def test_big_deletions_and_merges_through_the_webhook_and_scorer_on_dynamodb_local(
    local_store, monkeypatch, tmp_path, company_links, contact_links
):
    store = local_store
    store.put_segment(ACCOUNT, SEGMENT)
    # Given a company linked to many contacts, and two contacts each linked to many companies
    store.put_record(ACCOUNT, Record("companies", "big", {"nps_score": 10}))
    for p in range(company_links):
        store.put_record(ACCOUNT, Record("contacts", f"p{p}", {"role": "Champion"}))
        store.put_association(ACCOUNT, AssociationLine("companies", "big", "contacts", f"p{p}"))
    for name in ("1001", "1002"):
        store.put_record(ACCOUNT, Record("contacts", name, {"role": "Champion"}))
        for c in range(contact_links):
            company = f"k{name}-{c}"
            store.put_record(ACCOUNT, Record("companies", company, {"nps_score": 7}))
            store.put_association(ACCOUNT, AssociationLine("companies", company, "contacts", name))
    make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=NOW)
    # When HubSpot sends the deletion and the merge (parsed by the webhook's own code)
    at = int(NOW.timestamp() * 1000)
    items = [
        {"subscriptionType": "company.deletion", "objectId": "big", "occurredAt": at, "eventId": 1},
        {
            "subscriptionType": "contact.merge",
            "objectId": 1001,
            "primaryObjectId": 1001,
            "mergedObjectIds": [1002],
            "occurredAt": at,
            "eventId": 2,
        },
    ]
    body = json.dumps(items).encode()
    batch = parse_batch(body, NOW, route_to(ACCOUNT, {}.get))
    assert batch.skipped == []
    # and the scorer function drains the queue with 10 % of DynamoDB calls failing
    drained = drain_through_scorer(store, monkeypatch, batch.messages, 0.10, 7)
    # Then both completed, nothing went to the DLQ, and the scores are the batch engine's
    assert drained.faults_injected > 0
    assert drained.dead_letters == []
    assert store.record(ACCOUNT, ("companies", "big")) is None
    assert store.associations_of(ACCOUNT, ("companies", "big")) == []
    assert store.record(ACCOUNT, ("contacts", "1002")) is None
    assert len(store.associations_of(ACCOUNT, ("contacts", "1001"))) == 2 * contact_links
    assert stored_scores(store, ACCOUNT, "health") == batch_engine_scores(
        store, ACCOUNT, SEGMENT, tmp_path / "export", NOW
    )
