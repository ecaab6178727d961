"""The HubSpot connection, the sync checkpoint and the write-back lease behave alike in memory,
on moto and on DynamoDB Local."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from healthscore.domain.dataset import RecordKey
from healthscore.domain.integrations import HubSpotConnection
from healthscore.domain.score_state import ScoreState
from healthscore.ports import HealthScoreStore

AT = datetime(2026, 6, 15, tzinfo=UTC)
CONNECTION = HubSpotConnection("4470012", "/healthscore/hubspot-tokens/acme", connected_by="a@b")


def test_a_connection_is_saved_listed_replaced_and_removed(
    store: HealthScoreStore, account: str
) -> None:
    assert store.hubspot_connection(account) is None
    store.save_hubspot_connection(account, CONNECTION)
    assert store.hubspot_connection(account) == CONNECTION
    assert account in store.hubspot_accounts()
    store.save_hubspot_connection(account, replace(CONNECTION, writeback=False))
    assert store.hubspot_connection(account) == replace(CONNECTION, writeback=False)
    store.save_sync_checkpoint(account, {"since": "2026-06-01T00:00:00+00:00"})
    assert store.sync_checkpoint(account) == {"since": "2026-06-01T00:00:00+00:00"}
    store.delete_hubspot_connection(account)
    assert store.hubspot_connection(account) is None
    assert account not in store.hubspot_accounts()
    assert store.sync_checkpoint(account) == {}


def test_a_lease_is_one_holders_until_it_is_released_or_expires(
    store: HealthScoreStore, account: str
) -> None:
    assert store.take_lease(account, "writeback", "one", 30)
    assert store.take_lease(account, "writeback", "one", 30)  # its holder may renew it
    assert not store.take_lease(account, "writeback", "two", 30)
    assert store.take_lease(account, "other", "two", 30)  # leases are per name
    store.release_lease(account, "writeback", "two")  # not its holder: no effect
    assert not store.take_lease(account, "writeback", "two", 30)
    store.release_lease(account, "writeback", "one")
    assert store.take_lease(account, "writeback", "two", -5)  # held, but already expired
    assert store.take_lease(account, "writeback", "three", 30)  # so it is taken over
    assert not store.take_lease(account, "writeback", "two", 30)


def test_score_pages_walk_the_states_in_key_order(store: HealthScoreStore, account: str) -> None:
    keys: list[RecordKey] = [("companies", f"c{n:03d}") for n in range(7)]
    for key in keys:
        state = ScoreState("d1", key, 50, "Neutral", "#fff", {}, {}, 1, updated_at=AT)
        store.save_state(account, state)
    pages, after = [], None
    while True:
        page = store.score_page(account, "d1", after, 3)
        pages.append([s.key for s in page])
        if len(page) < 3:
            break
        after = page[-1].key
    assert pages == [keys[0:3], keys[3:6], keys[6:7]]
