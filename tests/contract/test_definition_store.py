"""One suite of behaviours for the definition-store port (healthscore.ports.DefinitionStore) on
memory, moto and DynamoDB Local: versioned saves and deletes of health scores and segments, jobs,
output properties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from healthscore.domain.errors import Conflict
from healthscore.domain.lifecycle import Job, StoredDefinition, StoredSegment
from healthscore.domain.score_state import ScoreState
from healthscore.ports import HealthScoreStore

AT = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
RAW = {"name": "Health", "object_type": "companies", "segments": ["all"], "groups": []}


def _definition(definition_id: str = "health") -> StoredDefinition:
    return StoredDefinition(
        definition_id, "Health", "companies", "draft", AT, AT, "u1", draft=RAW, draft_revision=1
    )


def test_a_definition_is_saved_from_the_version_read(store: HealthScoreStore, account: str):
    new = _definition()
    store.save_definition(account, new)
    assert new.version == 1
    first, second = store.definition(account, "health"), store.definition(account, "health")
    assert first is not None
    assert second is not None
    assert (first.draft, first.draft_revision, first.state, first.updated_by) == (
        RAW,
        1,
        "draft",
        "u1",
    )
    first.state, first.live, first.live_revision, first.draft = "live", RAW, 1, None
    store.save_definition(account, first)
    assert first.version == 2
    second.name = "Renamed"
    with pytest.raises(Conflict):  # read before the other save
        store.save_definition(account, second)
    with pytest.raises(Conflict):  # a second "new" one with the same id
        store.save_definition(account, _definition())
    stored = store.definition(account, "health")
    assert stored is not None
    assert (stored.state, stored.live, stored.draft, stored.version) == ("live", RAW, None, 2)
    assert store.live_definition(account, "health") == (RAW, 1)
    with pytest.raises(Conflict):
        store.delete_definition(account, second)
    store.delete_definition(account, stored)
    assert store.definition(account, "health") is None


def test_definitions_are_listed_by_id_and_read_as_copies(store: HealthScoreStore, account: str):
    for definition_id in ("b", "a", "c"):
        store.save_definition(account, _definition(definition_id))
    listed = store.definitions(account)
    assert [d.id for d in listed] == ["a", "b", "c"]
    listed[0].name = "changed, not saved"
    assert store.definition(account, "a").name == "Health"  # type: ignore[union-attr]


def test_segments_are_versioned_like_definitions(store: HealthScoreStore, account: str):
    body = {"id": "all", "name": "All companies", "object_type": "companies"}
    segment = StoredSegment("all", body, AT)
    store.save_segment(account, segment)
    assert segment.version == 1
    read = store.stored_segment(account, "all")
    assert read is not None
    assert (read.body, read.version) == (body, 1)
    read.body = {**body, "name": "Every company"}
    store.save_segment(account, read)
    with pytest.raises(Conflict):
        store.save_segment(account, StoredSegment("all", body, AT, version=1))
    assert [s.body["name"] for s in store.stored_segments(account)] == ["Every company"]
    assert [s.name for s in store.segment_list(account)] == ["Every company"]
    latest = store.stored_segment(account, "all")
    assert latest is not None
    store.delete_segment(account, latest)
    assert store.stored_segments(account) == []


def test_jobs_and_output_properties_round_trip(store: HealthScoreStore, account: str):
    job = Job("job_1", "turn_on", "queued", AT, AT, "health", {})
    store.save_job(account, job)
    job.status, job.detail = "succeeded", {"scored": 10}
    store.save_job(account, job)
    assert store.job(account, "job_1") == Job(
        "job_1", "turn_on", "succeeded", AT, AT, "health", {"scored": 10}
    )
    assert store.job(account, "job_2") is None
    entry = {"name": "health_score", "kind": "score", "definition_id": "health"}
    other = {"name": "other_status", "kind": "status", "definition_id": "other"}
    store.register_output_property(account, entry)
    store.register_output_property(account, other)
    assert store.output_property(account, "health_score") == entry
    store.unregister_output_properties(account, "health")
    assert store.output_properties(account) == [other]


def test_deleting_a_definitions_scores_leaves_the_others(store: HealthScoreStore, account: str):
    for definition_id, record_id in (("health", "c1"), ("health", "c2"), ("other", "c1")):
        unit = store.change_writes(account)
        state = ScoreState(definition_id, ("companies", record_id), 50, "Neutral", "#fff000")
        state.updated_at = AT
        unit.put_state(state)
        unit.commit()
    assert store.delete_scores(account, "health") == 2
    assert list(store.scores(account, "health")) == []
    assert [s.key[1] for s in store.scores(account, "other")] == ["c1"]


def test_a_guarded_save_lands_only_at_the_guard_read(store: HealthScoreStore, account: str):
    """The plan guard: of two saves that read the same guard, one lands; the guard moves on."""
    assert store.plan_guard(account) == 0
    first, second = _definition("first"), _definition("second")
    store.save_definition_guarded(account, first, 0)
    assert (first.version, store.plan_guard(account)) == (1, 1)
    with pytest.raises(Conflict):  # read the guard before the first landed
        store.save_definition_guarded(account, second, 0)
    assert store.definition(account, "second") is None
    store.save_definition_guarded(account, second, 1)
    assert store.plan_guard(account) == 2
    stale = store.definition(account, "first")
    assert stale is not None
    store.save_definition(account, stale)  # an unguarded save leaves the guard alone
    assert store.plan_guard(account) == 2
    stale.version = 1
    with pytest.raises(Conflict):  # the definition's own version still counts
        store.save_definition_guarded(account, stale, 2)
    assert store.plan_guard(account) == 2
    assert [d.id for d in store.definitions(account)] == ["first", "second"]


def test_the_live_marker_moves_with_every_saved_change_and_never_with_a_refused_one(
    store: HealthScoreStore, account: str
):
    """Scorers keep parsed definitions and segments while the marker stays where they read it,
    so every change to either must move it, in the same write."""
    marks = [store.live_marker(account)]
    definition = _definition()
    store.save_definition(account, definition)
    marks.append(store.live_marker(account))
    store.save_definition_guarded(account, _definition("other"), store.plan_guard(account))
    marks.append(store.live_marker(account))
    segment = StoredSegment("all", {"id": "all", "name": "All", "object_type": "companies"}, AT)
    store.save_segment(account, segment)
    marks.append(store.live_marker(account))
    store.delete_segment(account, segment)
    marks.append(store.live_marker(account))
    store.delete_definition(account, definition)
    marks.append(store.live_marker(account))
    assert marks == sorted(set(marks)), marks  # moved on with each
    with pytest.raises(Conflict):  # a stale save lands nowhere and moves nothing
        store.save_definition(account, _definition("other"))
    assert store.live_marker(account) == marks[-1]


def test_accounts_with_live_scores_are_listed_and_others_are_not(
    store: HealthScoreStore, account: str
):
    # Given (in this module's store, shared between tests) an account with a live score, one
    # with a draft only, and one whose score was turned off
    live, draft, off = f"{account}-live", f"{account}-draft", f"{account}-off"
    for owner in (live, draft, off):
        store.save_definition(owner, _definition())
    for owner, state in ((live, "live"), (off, "off")):
        saved = store.definition(owner, "health")
        assert saved is not None
        saved.state, saved.live, saved.live_revision = state, RAW, 1
        store.save_definition(owner, saved)
    # When the accounts with live scores are listed
    listed = store.accounts_with_live_scores()
    # Then the first is there, once, and the other two are not
    assert listed.count(live) == 1
    assert draft not in listed
    assert off not in listed
    assert listed == sorted(listed)
