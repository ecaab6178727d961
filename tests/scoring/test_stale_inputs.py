"""Freshness rules on the incremental path: an input goes stale on its day (the sweep finds it,
it is the state's next change day), `Health input stale` comes once per property per staleness,
and a new value makes it fresh again."""

from __future__ import annotations

from datetime import date, timedelta

from healthscore.adapters.history_stream import stale_inputs_of
from healthscore.domain.changes import PropertiesChanged
from healthscore.domain.dataset import Record
from healthscore.services.incremental import IncrementalScorer
from healthscore.services.sweep import Sweep
from tests.builders import raw_property_score, self_rule
from tests.scoring.support import Clock, make_live, midnight

ACCOUNT = "fresh"
START = date(2026, 3, 1)
DEFINITION = raw_property_score(
    "Sentiment health",
    ["seg-all"],
    self_rule("csm_sentiment", "eq_any", ["Positive"], 50),
    max_points=50,
    freshness=[{"property": "csm_sentiment", "max_age": {"value": 30, "unit": "days"}}],
)


def _ms(day: date) -> int:
    return int(midnight(day).timestamp() * 1000) + 9 * 3_600_000


def test_an_input_goes_stale_on_its_day_once_and_fresh_with_a_new_value(memory_store) -> None:
    store = memory_store
    store.put_segment(ACCOUNT, {"id": "seg-all", "name": "All", "object_type": "companies"})
    store.put_record(ACCOUNT, Record("companies", "quiet", {"name": "Never updated"}))
    clock = Clock(midnight(START) + timedelta(hours=10))
    make_live(store, ACCOUNT, "sentiment", DEFINITION, as_of=clock())
    scorer = IncrementalScorer(store, clock=clock)
    key = ("companies", "c1")
    # Given a company whose CSM set its sentiment on 1 March
    scorer.apply(
        ACCOUNT, PropertiesChanged(*key, {"csm_sentiment": "Positive"}, _ms(START), created=True)
    )
    state = store.score(ACCOUNT, "sentiment", key)
    assert state is not None
    assert (state.score, state.stale, state.due_day) == (50, [], START + timedelta(days=30))
    # and a company that never had one: stale from the start
    assert store.score(ACCOUNT, "sentiment", ("companies", "quiet")).stale == ["csm_sentiment"]

    # When the sweep runs on 31 March, and again on the days after
    for days in (30, 31, 32):
        clock.to(START + timedelta(days=days))
        Sweep(store, clock=clock).run()

    # Then the input went stale on its day, once; the score did not change
    state = store.score(ACCOUNT, "sentiment", key)
    assert (state.score, state.status, state.stale) == (50, "Healthy", ["csm_sentiment"])
    assert state.due_day is None  # nothing left to change by itself
    entries, _ = store.history(ACCOUNT, "sentiment", key, 20, None)
    gone_stale = [e for e in entries if e.get("newly_stale")]
    assert [(e["newly_stale"], e["at"][:10]) for e in gone_stale] == [
        (["csm_sentiment"], "2026-03-31")
    ]
    assert "out of date now: csm_sentiment" in gone_stale[0]["cause"]["summary"]

    # When the CSM updates it on 10 April (the same value), it is fresh for 30 days
    clock.to(date(2026, 4, 10))
    scorer.apply(
        ACCOUNT, PropertiesChanged(*key, {"csm_sentiment": "Positive"}, _ms(date(2026, 4, 10)))
    )
    assert store.score(ACCOUNT, "sentiment", key).stale == []
    # and on 10 May it goes stale again: a second event, with its own id
    clock.to(date(2026, 5, 10))
    Sweep(store, clock=clock).run()
    entries, _ = store.history(ACCOUNT, "sentiment", key, 20, None)
    events = [
        event
        for n, entry in enumerate(entries)
        for event in stale_inputs_of(
            {"pk": f"{ACCOUNT}#sentiment#companies#c1", "sk": f"{entry['at']}#{n}", "entry": entry}
        )
    ]
    assert [(e.property, e.at[:10]) for e in events] == [
        ("csm_sentiment", "2026-05-10"),
        ("csm_sentiment", "2026-03-31"),
    ]
    assert len({e.id for e in events}) == 2
