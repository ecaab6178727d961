"""Scores out to HubSpot as they change (the write-back function's use case), against the fake:
turn-on lands every in-scope company's score and status with the property group and both
properties; events that move scores reach HubSpot in one batch call per 100 changed records;
through 429s, server errors and redeliveries everything arrives and a later value is never
overwritten by an earlier one; a held lease defers, never races."""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta
from pathlib import Path

import pytest

from healthscore.adapters.hubspot_crm import HubSpotCrm
from healthscore.adapters.memory_store import MemoryStore
from healthscore.domain.changes import EventArrived
from healthscore.domain.dataset import Event
from healthscore.domain.integrations import HubSpotConnection
from healthscore.services.hubspot_push import Pusher, Queued, parse_message, push_all_message
from healthscore.services.incremental import IncrementalScorer
from tests.integration.conftest import AS_OF, DEFINITION, TOKEN, Fake, checked
from tests.scoring.support import load_data, make_live

ACCOUNT = "acct-push"
SCORE = "def_health"
RAW = json.loads(DEFINITION.read_text())
CONNECTION = HubSpotConnection("4470012", "/healthscore/hubspot-tokens/acct-push")


class Stream:
    """The history table's stream as the Pipe hands it on: one message per new entry."""

    def __init__(self, store: MemoryStore) -> None:
        self.store, self.seen = store, set[tuple[str, str]]()
        self.count = 0

    def messages(self) -> list[Queued]:
        found = []
        history = self.store._of(ACCOUNT).history  # the stream's view of the table
        for pk, entries in sorted(history.items()):
            for sk in sorted(entries):
                if (pk, sk) not in self.seen:
                    self.seen.add((pk, sk))
                    self.count += 1
                    found.append(parse_message(f"m{self.count}", json.dumps({"history": pk})))
        return found


def crm(fake: Fake, retries: int = 8) -> HubSpotCrm:
    return HubSpotCrm(TOKEN, fake.url, retries=retries, sleep=lambda s: time.sleep(min(s, 0.02)))


@pytest.fixture
def live(portfolio: Path) -> tuple[MemoryStore, Stream]:
    store = MemoryStore()
    load_data(store, ACCOUNT, portfolio)
    store.save_hubspot_connection(ACCOUNT, CONNECTION)
    stream = Stream(store)
    make_live(store, ACCOUNT, SCORE, RAW, as_of=AS_OF)
    return store, stream


def held(fake: Fake, name: str) -> dict[str, str | None]:
    return {oid: o.properties.get(name) for oid, o in fake.portal.objects["companies"].items()}


def ours(store: MemoryStore) -> dict[str, tuple[str, str]]:
    return {s.key[1]: (str(s.score), s.status or "") for s in store.scores(ACCOUNT, SCORE)}


def theirs(fake: Fake, store: MemoryStore) -> dict[str, tuple[str, str]]:
    names = RAW_PROPERTIES
    scores, statuses = held(fake, names[0]), held(fake, names[1])
    return {oid: (scores[oid] or "", statuses[oid] or "") for oid in ours(store)}


def _names() -> tuple[str, str]:
    from healthscore.domain.validation import parse_definition

    properties = parse_definition(RAW).output_properties()
    return properties.score.name, properties.status.name


RAW_PROPERTIES = _names()


def move_scores(store: MemoryStore, companies: list[str], tag: str) -> None:
    scorer = IncrementalScorer(store, clock=lambda: AS_OF)
    at = AS_OF - timedelta(hours=1)
    for n, company in enumerate(companies):
        for kind in ("meeting_booked", "document_viewed"):
            event = Event(f"{tag}-{kind}-{n}", kind, at, "companies", company)
            scorer.apply(ACCOUNT, EventArrived(event))


def test_turn_on_then_moved_scores_reach_hubspot_in_one_call_per_100(
    fake: Fake, live: tuple[MemoryStore, Stream], documents
) -> None:
    store, stream = live
    pusher = Pusher(store, lambda _c: crm(fake), "test")
    turned_on = pusher.push(stream.messages())
    assert turned_on.failed == set()
    assert turned_on.deferred == set()
    properties = fake.portal.properties["companies"]
    labels = [t["label"] for t in reversed(RAW["thresholds"])]
    assert [o["label"] for o in properties[RAW_PROPERTIES[1]]["options"]] == labels
    assert properties[RAW_PROPERTIES[0]]["type"] == "number"
    assert len(ours(store)) == 60
    assert theirs(fake, store) == ours(store)
    assert turned_on.batches == math.ceil(60 / 100)

    before = dict(ours(store))
    fake.portal.bodies.clear()
    move_scores(store, sorted(before), "moved")
    moved = {k for k, v in ours(store).items() if before[k] != v}
    assert len(moved) >= 50, len(moved)
    print(f"\nevents moved {len(moved)} of 60 scores")
    messages = stream.messages()
    pushed = pusher.push(messages)
    updates = [b for _m, path, b, _s, _a in fake.portal.bodies if path.endswith("/batch/update")]
    assert len(updates) == pushed.batches == math.ceil(len(moved) / 100) == 1
    assert {i["id"] for i in updates[0]["inputs"]} >= moved  # one input per record
    assert len(updates[0]["inputs"]) == len({m.key for m in messages})
    assert theirs(fake, store) == ours(store)
    assert checked(documents, fake.portal.bodies) > 0


def test_through_errors_and_redeliveries_the_latest_value_wins(
    fake: Fake, live: tuple[MemoryStore, Stream]
) -> None:
    store, stream = live
    fake.portal.throttle_every, fake.portal.error_rate = 3, 0.1
    flaky = crm(fake, retries=1)  # so that some batches fail for good and come back
    pusher = Pusher(store, lambda _c: flaky, "test")
    queue = stream.messages()
    companies = sorted(ours(store))
    rounds = 0
    while queue and rounds < 60:
        rounds += 1
        result = pusher.push(queue[:100])
        assert result.deferred == set()
        retried = [m for m in queue[:100] if m.message_id in result.failed]
        queue = queue[100:] + retried  # SQS brings failed ones back, after the others
        if rounds in (2, 4):  # more changes land while earlier ones wait for redelivery
            move_scores(store, companies[rounds * 10 : rounds * 10 + 25], f"r{rounds}")
            queue += stream.messages()
    assert queue == []
    assert flaky.throttled > 0
    assert theirs(fake, store) == ours(store)
    # the values HubSpot saw for a record follow the order its states were committed in
    history = {
        key: [
            e.get("after")
            for e in reversed(store.history(ACCOUNT, SCORE, ("companies", key), 100, None)[0])
        ]
        for key in companies
    }
    written: dict[str, list[int]] = {}
    for _m, path, body, status, _a in fake.portal.bodies:
        if path.endswith("/batch/update") and status < 300:
            for entry in body["inputs"]:
                written.setdefault(entry["id"], []).append(
                    int(entry["properties"][RAW_PROPERTIES[0]])
                )
    for key, values in written.items():
        trail = iter(history[key])
        assert all(any(v == h for h in trail) for v in _dedupe(values)), (key, values, history[key])


def _dedupe(values: list[int]) -> list[int]:
    """Repeated writes of one value (a redelivered key) are one step of the trail."""
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def test_a_held_lease_defers_the_keys_and_sends_nothing(
    fake: Fake, live: tuple[MemoryStore, Stream]
) -> None:
    store, stream = live
    assert store.take_lease(ACCOUNT, "writeback", "another-pusher", 60)
    before = len(fake.portal.requests)
    messages = stream.messages()
    result = Pusher(store, lambda _c: crm(fake), "test").push(messages)
    assert result.deferred == {m.message_id for m in messages}
    assert len(fake.portal.requests) == before
    store.release_lease(ACCOUNT, "writeback", "another-pusher")
    assert Pusher(store, lambda _c: crm(fake), "test").push(messages).done == result.deferred


def test_push_all_walks_a_score_page_by_page_and_skips_unconnected_accounts(
    fake: Fake, live: tuple[MemoryStore, Stream], monkeypatch: pytest.MonkeyPatch
) -> None:
    import healthscore.services.hubspot_push as push

    store, _stream = live
    monkeypatch.setattr(push, "PUSH_ALL_PAGE", 25)
    pusher = Pusher(store, lambda _c: crm(fake), "test")
    pages, message = 0, push_all_message(ACCOUNT, SCORE)
    while message:
        result = pusher.push([parse_message(f"p{pages}", message)])
        pages += 1
        message = result.follow_ups[0][1] if result.follow_ups else ""
    assert pages == 3  # 25 + 25 + 10
    assert theirs(fake, store) == ours(store)
    store.delete_hubspot_connection(ACCOUNT)
    skipped = pusher.push([parse_message("x", push_all_message(ACCOUNT, SCORE))])
    assert (skipped.done, skipped.batches, skipped.skipped) == ({"x"}, 0, 1)
