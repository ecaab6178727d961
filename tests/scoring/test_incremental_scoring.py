"""The incremental scorer and the sweep on moto: what they leave equals what the engines compute
from the same stored data, whatever order changes arrive in and however often."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pytest

from healthscore.domain.changes import (
    AssociationChanged,
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
    RecordsMerged,
)
from healthscore.domain.dataset import AssociationLine, Event
from healthscore.domain.reference_engine import score
from healthscore.domain.validation import parse_definition
from healthscore.services.incremental import IncrementalScorer
from healthscore.services.scoring import Engine, score_rows
from healthscore.services.sweep import Sweep
from tests.scoring.conftest import AS_OF_DAY
from tests.scoring.support import (
    CUSTOMER_HEALTH,
    ROOT,
    Clock,
    load_data,
    make_live,
    midnight,
    publish_revision,
    stored_scores,
)

ACCOUNT = "acme"
AS_OF = date.fromisoformat(AS_OF_DAY)
EXAMPLES = {
    name: json.loads((ROOT / f"docs/examples/{name}.json").read_text())
    for name in ("champion-engagement", "onboarding-health", "upmarket-health-score")
}


def _replay(store, data, clock, seed=3):
    scorer = IncrementalScorer(store, clock=clock)
    events = data.all_events()
    random.Random(seed).shuffle(events)
    events += random.Random(seed + 1).sample(events, len(events) // 10)  # 10 % sent twice
    outcomes = [scorer.apply(ACCOUNT, EventArrived(event)) for event in events]
    return scorer, outcomes


def _sweep_to(store, clock, day, step=timedelta(days=7)):
    sweep = Sweep(store, clock=clock)
    while clock().date() < day:
        clock.to(min(day, clock().date() + step))
        sweep.run()


def replayed_year(store, portfolio):
    """A live score over a year of the portfolio's events, replayed shuffled and swept weekly
    up to AS_OF: (the loaded data, the clock at AS_OF)."""
    data = load_data(store, ACCOUNT, portfolio)
    clock = Clock(midnight(AS_OF - timedelta(days=365)))
    make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=clock())
    _replay(store, data, clock)
    _sweep_to(store, clock, AS_OF)
    return data, clock


def _batch(raw, folder, day):
    rows = score_rows(parse_definition(raw), folder, midnight(day), Engine.POLARS)
    return {row["id"]: (row["score"], row["status"], row["groups"]) for row in rows}


def test_replayed_events_shuffled_and_duplicated_then_swept_equal_the_batch_engine(
    memory_store, small_portfolio
):
    # Given a portfolio's records and links stored, and a live score, a year before the as-of day
    data = load_data(memory_store, ACCOUNT, small_portfolio)
    clock = Clock(midnight(AS_OF - timedelta(days=365)))
    make_live(memory_store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=clock())
    # When every event arrives once, shuffled, 10 % of them twice, and the sweep runs weekly
    _scorer, outcomes = _replay(memory_store, data, clock)
    _sweep_to(memory_store, clock, AS_OF)
    # Then each duplicate was recognised, and the scores are exactly the batch engine's
    assert sum(o.duplicate for o in outcomes) == len(outcomes) - len(data.all_events())
    assert stored_scores(memory_store, ACCOUNT, "health") == _batch(
        CUSTOMER_HEALTH, small_portfolio, AS_OF
    )


def _reference(store, raw, day, dataset=None):
    dataset = dataset or store.dataset(ACCOUNT)
    results = score(parse_definition(raw), dataset, midnight(day))
    return {r.id: (r.score, r.status) for r in results}


def _scores(store, definition_id):
    return {k: v[:2] for k, v in stored_scores(store, ACCOUNT, definition_id).items()}


def test_record_link_label_deletion_and_merge_changes_rescore_like_the_reference(
    memory_store, tiny_portfolio
):
    # Given four live scores (companies and contacts, labels and filters on contacts' events)
    data = load_data(memory_store, ACCOUNT, tiny_portfolio)
    lives = {"health": CUSTOMER_HEALTH, **EXAMPLES}
    clock = Clock(midnight(AS_OF))
    for definition_id, raw in lives.items():
        make_live(memory_store, ACCOUNT, definition_id, raw, as_of=clock())
    status_changes = []
    scorer = IncrementalScorer(memory_store, clock=clock)
    for event in data.all_events():
        scorer.apply(ACCOUNT, EventArrived(event))
    company = data.records_of("companies")[0]
    contacts = [n.record for n in data.neighbours(company.key, "contacts")]
    other = data.records_of("companies")[1]
    tickets = data.neighbours(company.key, "tickets")
    at_ms = int(clock().timestamp() * 1000)
    changes = [
        PropertiesChanged("companies", company.id, {"nps_score": 10}, at_ms),
        PropertiesChanged("companies", company.id, {"csm_sentiment": None}, at_ms),
        PropertiesChanged("contacts", contacts[0].id, {"role": None}, at_ms),
        AssociationChanged(
            AssociationLine("companies", company.id, "contacts", contacts[0].id, ("Champion",))
        ),
        AssociationChanged(
            AssociationLine("companies", other.id, "contacts", contacts[1].id, ("Decision maker",))
        ),
        AssociationChanged(
            AssociationLine("companies", company.id, "contacts", contacts[1].id), removed=True
        ),
        PropertiesChanged("companies", "c-new", {"name": "New Co", "tier": "Enterprise"}, at_ms),
        AssociationChanged(AssociationLine("companies", "c-new", "contacts", contacts[2].id)),
        EventArrived(Event("new-1", "meeting_booked", clock(), "contacts", contacts[2].id, {})),
        RecordsMerged("contacts", contacts[2].id, (contacts[3].id,))
        if len(contacts) > 3
        else RecordDeleted("contacts", contacts[-1].id),
        RecordDeleted("contacts", contacts[0].id),
    ]
    if tickets:
        changes.append(
            PropertiesChanged("tickets", tickets[0].record.id, {"status": "closed"}, at_ms)
        )
    for change in changes:
        # When each change is applied
        outcome = scorer.apply(ACCOUNT, change)
        assert not outcome.duplicate
        status_changes += outcome.status_changes
        # Then every live score equals the reference engine over what is now stored
        stored = memory_store.dataset(ACCOUNT)
        after = {d: stored_scores(memory_store, ACCOUNT, d) for d in lives}
        for definition_id, raw in lives.items():
            assert {k: v[:2] for k, v in after[definition_id].items()} == _reference(
                memory_store, raw, AS_OF, stored
            ), f"{definition_id} after {change.summary}"
        # and the same change delivered again writes nothing
        again = scorer.apply(ACCOUNT, change)
        assert (again.written, again.history) == (0, []), change.summary
        assert {d: stored_scores(memory_store, ACCOUNT, d) for d in lives} == after
    assert status_changes, "status changes were reported (their history entries publish them)"


def test_property_changes_arriving_out_of_order_keep_the_latest_value(
    memory_store, small_portfolio
):
    data = load_data(memory_store, ACCOUNT, small_portfolio)
    make_live(memory_store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=midnight(AS_OF))
    scorer = IncrementalScorer(memory_store, clock=Clock(midnight(AS_OF)))
    company = data.records_of("companies")[0]
    # Given the later change (NPS 10) arrives first, then the earlier one (NPS 2)
    scorer.apply(ACCOUNT, PropertiesChanged("companies", company.id, {"nps_score": 10}, 2_000))
    late = scorer.apply(
        ACCOUNT, PropertiesChanged("companies", company.id, {"nps_score": 2}, 1_000)
    )
    # Then the record keeps NPS 10, and the stale change wrote nothing
    assert memory_store.record(ACCOUNT, company.key).properties["nps_score"] == 10
    assert late.written == 0


def test_history_reads_like_a_story(memory_store, tiny_portfolio):
    # Given a new company with NPS 9 whose contact books two meetings, then a month passes
    load_data(memory_store, ACCOUNT, tiny_portfolio)
    clock = Clock(midnight(AS_OF))
    make_live(memory_store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=clock())
    scorer = IncrementalScorer(memory_store, clock=clock)
    story = ("companies", "c-story")
    scorer.apply(ACCOUNT, PropertiesChanged(*story, {"name": "Story Inc", "nps_score": 9}, 1))
    scorer.apply(ACCOUNT, AssociationChanged(AssociationLine(*story, "contacts", "p-story")))
    for n in range(2):
        meeting = Event(f"m{n}", "meeting_booked", clock(), "contacts", "p-story", {})
        scorer.apply(ACCOUNT, EventArrived(meeting))
    clock.to(AS_OF + timedelta(days=31))
    Sweep(memory_store, clock=clock).run()
    # When its history is read, newest first
    entries, _cursor = memory_store.history(ACCOUNT, "health", story, 10, None)
    # Then each entry says what moved it: the decay step, each meeting, the company's creation
    causes = [e["cause"] for e in entries]
    assert [c["kind"] for c in causes] == ["time", "event", "event", "property"]
    assert [(e["before"], e["after"]) for e in entries] == [
        (40, 37),
        (30, 40),
        (20, 30),
        (None, 20),
    ]
    assert causes[0]["summary"] == (
        "time passed: 1:1 Engagement / meeting_booked 20 → 17 (decay step)"
    )
    assert causes[1]["events"][0]["id"] == "m1"
    assert causes[1]["summary"] == f"meeting_booked on {AS_OF} by contacts/p-story"
    assert causes[1]["rules"] == [
        {
            "rule": "1:1 Engagement / meeting_booked",
            "rule_id": "1:1 Engagement / rule_e9ff10b8dfe2",
            "before": 10,
            "after": 20,
        }
    ]
    assert causes[3]["properties"] == ["name", "nps_score"]


@pytest.mark.parametrize("definition_id", ["health"])
def test_a_score_updated_to_a_new_revision_rebuilds_states_on_their_next_change(
    memory_store, small_portfolio, definition_id
):
    # Given states written under revision 1
    data = load_data(memory_store, ACCOUNT, small_portfolio)
    clock = Clock(midnight(AS_OF))
    make_live(memory_store, ACCOUNT, definition_id, CUSTOMER_HEALTH, as_of=clock())
    scorer = IncrementalScorer(memory_store, clock=clock)
    for event in data.all_events():
        scorer.apply(ACCOUNT, EventArrived(event))
    # When revision 2 (meetings worth 20) goes live and one contact books a meeting
    changed = json.loads(json.dumps(CUSTOMER_HEALTH))
    changed["groups"][0]["rules"][0]["points"] = 20
    publish_revision(memory_store, ACCOUNT, definition_id, changed, revision=2)
    company = data.records_of("companies")[0]
    contact = data.neighbours(company.key, "contacts")[0].record
    scorer.apply(
        ACCOUNT, EventArrived(Event("r2", "meeting_booked", clock(), "contacts", contact.id, {}))
    )
    # Then that company's state is rebuilt under revision 2 and equals the reference
    state = memory_store.score_states(ACCOUNT, [(definition_id, company.key)])[
        (definition_id, company.key)
    ]
    assert int(state.revision) == 2
    assert _reference(memory_store, changed, AS_OF)[company.id] == (int(state.score), state.status)
