"""The scheduled sync (AWS's `sync` function's use case) against the fake portal: a first run
fills the account's store through the changes queue and the scorer, and scores exactly as the
offline import scored by the batch engine; a later run fetches only what changed; a run whose
time runs out resumes from its checkpoint with nothing missing or doubled."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from healthscore.adapters.memory_store import MemoryStore
from healthscore.domain.change_messages import decode_change
from healthscore.domain.integrations import HubSpotConnection
from healthscore.services.hubspot_import import import_portal
from healthscore.services.hubspot_sync import sync_account
from healthscore.services.incremental import IncrementalScorer
from tests.integration.conftest import AS_OF, DEFINITION, Fake, wanted
from tests.integration.test_hubspot_import import scores

ACCOUNT = "acct-sync"
SCORE = "def_health"


class Queue:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def send(self, messages: list[str], delay: int = 0) -> None:
        self.messages.extend(messages)

    def drain_into(self, store: MemoryStore) -> None:
        scorer = IncrementalScorer(store, clock=lambda: AS_OF)
        for text in self.messages:
            message = decode_change(text)
            scorer.apply(message.account_id, message.change)
        self.messages.clear()


def connected(portfolio: Path) -> MemoryStore:
    store = MemoryStore()
    for line in (portfolio / "segments.jsonl").read_text().splitlines():
        store.put_segment(ACCOUNT, json.loads(line))
    store.put_live_definition(ACCOUNT, SCORE, json.loads(DEFINITION.read_text()), 1)
    store.save_hubspot_connection(ACCOUNT, HubSpotConnection("4470012", "/t/acct"))
    return store


def stored(store: MemoryStore) -> dict[str, tuple[int, str]]:
    return {s.key[1]: (s.score, s.status or "") for s in store.scores(ACCOUNT, SCORE)}


def offline(fake: Fake, portfolio: Path, folder: Path) -> dict[str, tuple[int, str]]:
    import_portal(fake.crm(), folder, wanted(portfolio))
    shutil.copyfile(portfolio / "segments.jsonl", folder / "segments.jsonl")
    return scores(folder)


def test_the_first_sync_scores_as_the_offline_import_and_a_later_one_reads_only_changes(
    fake: Fake, portfolio: Path, tmp_path: Path
) -> None:
    store, queue = connected(portfolio), Queue()
    first = sync_account(store, fake.crm(), queue, ACCOUNT, holder="t", time_left=lambda: 900)
    assert first.finished
    assert not first.incremental
    assert first.records == len(portal_records(fake))  # every record of the portal, once
    queue.drain_into(store)
    expected = offline(fake, portfolio, tmp_path / "offline")
    assert len(expected) >= 50
    assert stored(store) == expected

    before = stored(store)
    changed = sorted(before)[:10]
    for company in changed:
        fake.portal.put("companies", company, {"nps_score": "0"}, datetime.now(UTC))
    served = len(fake.portal.requests)
    crm = fake.crm()
    again = sync_account(store, crm, queue, ACCOUNT, holder="t", time_left=lambda: 900)
    assert again.incremental
    assert again.finished
    assert again.records == 10
    # a search per type, and the ten companies' links to contacts, deals and tickets
    assert again.requests == len(fake.portal.requests) - served == 8 + 3
    queue.drain_into(store)
    after = stored(store)
    assert [c for c in changed if after[c] != before[c]]  # an NPS of 0 costs points
    assert {c: s for c, s in after.items() if c not in changed} == {
        c: s for c, s in before.items() if c not in changed
    }


def test_a_run_out_of_time_resumes_from_its_checkpoint(
    fake: Fake, portfolio: Path, tmp_path: Path
) -> None:
    store, queue = connected(portfolio), Queue()
    pages = iter(range(1000))
    stopped = sync_account(
        store, fake.crm(), queue, ACCOUNT, holder="t", time_left=lambda: 900 - 400 * next(pages)
    )
    assert not stopped.finished
    assert stopped.messages > 0
    resumed = sync_account(store, fake.crm(), queue, ACCOUNT, holder="t", time_left=lambda: 900)
    assert resumed.finished
    assert not resumed.incremental  # still the first run, carried on
    queue.drain_into(store)
    assert stored(store) == offline(fake, portfolio, tmp_path / "offline")


def test_nothing_runs_without_a_connection_or_while_another_run_holds_the_account(
    fake: Fake, portfolio: Path
) -> None:
    store, queue = connected(portfolio), Queue()
    assert store.take_lease(ACCOUNT, "hubspot-sync", "other", 60)
    busy = sync_account(store, fake.crm(), queue, ACCOUNT, holder="t", time_left=lambda: 900)
    assert busy.skipped == "another sync of this account is running"
    store.delete_hubspot_connection(ACCOUNT)
    alone = sync_account(store, fake.crm(), queue, ACCOUNT, holder="t", time_left=lambda: 900)
    assert alone.skipped == "not connected"
    assert queue.messages == []
    assert fake.portal.requests == []


def portal_records(fake: Fake) -> list[tuple[str, str]]:
    return [
        (object_type, oid)
        for object_type in ("companies", "contacts", "deals", "tickets")
        for oid in fake.portal.objects.get(object_type, {})
    ]
