"""Reconciliation: after the webhook-equivalence replay nothing has drifted; corrupted states are
found, named, repaired with a `reconcile` history entry, and the run after that finds none."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.lifecycle import StoredDefinition
from healthscore.domain.tally_storage import decode_tally, encode_tally
from healthscore.services.jobs import run_job, start_nightly, start_reconciliation
from healthscore.services.reconcile import reconcile
from healthscore.settings import Settings
from tests.scoring.support import CUSTOMER_HEALTH, Clock, load_data, make_live, midnight
from tests.scoring.test_incremental_scoring import ACCOUNT, AS_OF, _replay, replayed_year

AT = datetime(2026, 6, 15, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reconcile")
    generate_portfolio(folder, 30, seed=17, until=AS_OF)
    return folder


def _corrupt(store, states, wrong_score, stale_tally):
    """Write states as a bug would have left them (straight into the store, no history)."""
    changed = {s.key: (s, {"score": (s.score + 13) % 101}) for s in wrong_score}
    for state in stale_tally:
        tally = decode_tally(state.tallies)
        key = next(k for k, entries in sorted(tally.events.items()) if entries)
        entries = tally.events[key]
        entries[next(iter(sorted(entries)))] += 1  # counted twice: the score is right today
        tally.totals = None
        changed[state.key] = (state, {"tallies": encode_tally(tally)})
    for key, (state, values) in changed.items():
        if isinstance(store, DynamoStore):  # the item in DynamoDB Local, as a stray write would
            item = store.tables.scores.get(f"{ACCOUNT}#health", f"{key[0]}#{key[1]}")
            for name, value in values.items():
                setattr(item, name, value)
            item.save()
        else:
            account = store._of(ACCOUNT)
            account.states[("health", key)] = dataclasses.replace(state, **values)


@pytest.fixture(params=["memory", pytest.param("dynamodb-local", marks=pytest.mark.soak)])
def any_store(request):
    """The in-memory store; in `make soak`, DynamoDB Local too (the replay takes minutes)."""
    return request.getfixturevalue("memory_store" if request.param == "memory" else "local_store")


def test_a_clean_replay_has_no_drift_and_ten_corrupted_states_are_found_and_repaired(
    any_store, portfolio
):
    # Given the replay of a year of events (shuffled, 10 % twice) and the weekly sweep
    store = any_store
    _data, clock = replayed_year(store, portfolio)
    # When a reconciliation runs
    first = reconcile(store, ACCOUNT, "health", "nightly-1", clock())
    # Then every state was compared and none drifted
    states = list(store.scores(ACCOUNT, "health"))
    assert first.compared + first.pending == len(states) == 30
    assert first.compared > 0.8 * len(states)
    assert (first.drifted, first.repaired, first.first) == (0, 0, [])

    # Given 10 states corrupted: 5 with a wrong score, 5 whose tally counts an event twice
    due_later = [s for s in states if not s.due_day or s.due_day > AS_OF]
    wrong, stale = due_later[:5], [s for s in due_later[5:] if s.tallies][:5]
    _corrupt(store, states, wrong, stale)
    # When the next reconciliation runs
    second = reconcile(store, ACCOUNT, "health", "nightly-2", clock())
    # Then it reports exactly those 10, says what differed, and repairs them
    corrupted = {s.key[1] for s in wrong + stale}
    assert (second.drifted, second.repaired) == (10, 10)
    assert {d.record_id for d in second.first} == corrupted
    wrong_ids = {s.key[1] for s in wrong}
    for drift in second.first:
        if drift.record_id in wrong_ids:  # stored beside computed: the score is what differed
            assert "score" in drift.differed
            assert drift.stored["score"] != drift.computed["score"]
        else:  # the score is still right today; the tally would have gone wrong later
            assert drift.differed == ["tally"]
            assert drift.stored == drift.computed
    # with a `reconcile` history entry on each
    for key in corrupted:
        entries, _cursor = store.history(ACCOUNT, "health", ("companies", key), 1, None)
        assert entries[0]["cause"]["kind"] == "reconcile", entries[0]
        assert entries[0]["cause"]["job"] == "nightly-2"
        assert entries[0]["cause"]["summary"].startswith("reconciled: ")
    # and the run after that finds nothing
    third = reconcile(store, ACCOUNT, "health", "nightly-3", clock())
    assert (third.drifted, third.repaired) == (0, 0)


def test_a_reconciliation_job_per_live_score_reports_on_the_job(memory_store, small_portfolio):
    # Given a live score over a replayed portfolio
    store = memory_store
    data = load_data(store, ACCOUNT, small_portfolio)
    clock = Clock(midnight(AS_OF - timedelta(days=30)))
    make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=clock())
    _replay(store, data, clock)
    # When the account's reconciliation is started and its queued job runs
    queued: list[tuple[str, str]] = []
    jobs = start_reconciliation(store, lambda a, j: queued.append((a, j)), ACCOUNT, clock())
    assert [(job.kind, job.status, job.definition_id) for job in jobs] == [
        ("reconcile", "queued", "health")
    ]
    assert queued == [(ACCOUNT, jobs[0].id)]
    report = run_job(store, ACCOUNT, jobs[0].id, as_of=clock())
    # Then the job succeeded and holds the report (what GET /jobs/{id} shows)
    job = store.job(ACCOUNT, jobs[0].id)
    assert job is not None
    assert job.status == "succeeded"
    assert report is not None
    assert job.detail == report.to_json()
    assert job.detail["compared"] + job.detail["pending"] == 10
    assert (job.detail["drifted"], job.detail["first"]) == (0, [])
    # and running the redelivered message again does nothing more
    assert run_job(store, ACCOUNT, jobs[0].id, as_of=clock()) is None


def test_the_nightly_run_reconciles_every_account_with_a_live_score_but_those_opted_out(
    memory_store,
):
    # Given three accounts with a live score, and one with a draft only
    store = memory_store
    for account in ("a1", "a2", "a3"):
        store.put_live_definition(account, "health", CUSTOMER_HEALTH, 1)
    store.save_definition("a4", StoredDefinition("d", "D", "companies", "draft", AT, AT, "u"))
    queued: list[tuple[str, str]] = []
    # When the nightly run starts with a2 opted out (Settings.reconcile_opt_out)
    skipped = Settings.for_prefix("t", reconcile_opt_out=" a2 ,").reconcile_skipped
    started = start_nightly(store, lambda a, j: queued.append((a, j)), AT, skipped)
    # Then a1 and a3 each got one reconcile job, queued, and nobody else did
    assert [(account, job.kind) for account, job in started] == [
        ("a1", "reconcile"),
        ("a3", "reconcile"),
    ]
    assert queued == [(account, job.id) for account, job in started]


def test_an_overridden_record_is_not_drift(memory_store, small_portfolio):
    """An override's expiry is a change day of the stored state (earlier than the computed
    one): the reconciliation expects it, and repairs nothing."""
    from healthscore.domain.access import MANAGE_PERMISSION, SERVICE_SEAT, Caller
    from healthscore.services.definitions import Definitions
    from healthscore.services.overrides import Overrides

    store = memory_store
    _data, clock = replayed_year(store, small_portfolio)
    caller = Caller(ACCOUNT, "csm", frozenset({MANAGE_PERMISSION}), frozenset({SERVICE_SEAT}))
    overrides = Overrides(store, Definitions(store, lambda _a, _j: None))
    states = sorted(store.scores(ACCOUNT, "health"), key=lambda s: s.key)
    for state, days in zip(states[:3], (3, 10, 40), strict=True):
        expires = (clock() + timedelta(days=days)).isoformat()
        body = {"status": "At-risk", "reason": "champion left", "expires_at": expires}
        overrides.put(caller, "health", state.key, body, clock())
    report = reconcile(store, ACCOUNT, "health", "nightly", clock() + timedelta(hours=2))
    assert (report.drifted, report.first) == (0, [])
    assert report.compared + report.pending == len(states)
