"""Day totals: a tally scored once on a day, then given more of that day's events one at a time
(the incremental scorer's usual case), scores exactly as the whole tally scored entry by entry —
score, status, colour, group totals, the breakdown rule by rule, next change day, stale inputs —
on generated definitions and datasets (tests/strategies.py)."""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthscore.domain.dataset import AssociationLine, Dataset, Event
from healthscore.domain.tallies import Tally, build_tally, compact, contact_events, own_events
from healthscore.domain.tally_scores import TallyScore, add_events, score_from_tallies
from healthscore.domain.tally_storage import decode_tally, encode_tally
from healthscore.domain.validation import parse_definition
from healthscore.domain.values import utc_day
from tests.builders import AS_OF
from tests.strategies import datasets, definitions, with_statuses_of

EXAMPLES = int(os.environ.get("DIFFERENTIAL_EXAMPLES", "100"))
as_of_instants = st.builds(
    lambda days, minutes: AS_OF + timedelta(days=days, minutes=minutes),
    st.integers(-10, 120),
    st.integers(-720, 720),
)


def _shown(result: TallyScore) -> tuple[Any, ...]:
    return (
        result.score,
        result.status,
        result.color,
        result.groups,  # every rule's total too: the breakdown
        result.next_change_day,
        result.stale,
    )


def _without(data: Dataset, late: list[Event]) -> Dataset:
    gone = {(e.object_type, e.object_id, e.id) for e in late}
    return Dataset(
        data.all_records(),
        [
            AssociationLine(*one, *other, tuple(sorted(labels)))
            for one, other, labels in data.association_pairs()
        ],
        [e for e in data.all_events() if (e.object_type, e.object_id, e.id) not in gone],
        data.segments.values(),
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw=definitions(), data=datasets(), as_of=as_of_instants, seed=st.integers(0, 2**16))
def test_events_added_on_the_day_scored_move_the_totals_to_the_whole_tallys_score(
    raw: dict[str, Any], data: Dataset, as_of: datetime, seed: int
) -> None:
    # Given a generated definition and dataset, a day, and for each scored record some of the
    # events that reach it (its own; a company's contacts' too) held back
    definition = parse_definition(raw)
    data = with_statuses_of(definition, data)
    segments = [data.segments[s] for s in definition.segments]
    then = data.at(as_of)
    today = utc_day(as_of)
    rng = random.Random(seed)
    for record in then.records_of(definition.object_type):
        reaching: list[tuple[Event, Any]] = [
            (e, None) for e in then.all_events() if e.owner == record.key
        ]
        if definition.object_type == "companies":
            for neighbour in then.neighbours(record.key, "contacts"):
                contact = neighbour.record
                reaching += [
                    (e, (contact, neighbour.labels))
                    for e in then.all_events()
                    if e.owner == contact.key
                ]
        late = [pair for pair in reaching if rng.random() < 0.4]
        whole = build_tally(definition, then, record, segments)
        earlier = build_tally(definition, _without(then, [e for e, _ in late]), record, segments)
        earlier.changed = dict(whole.changed)  # the property history is the same day's
        # When the earlier tally is scored that day (its totals kept, and stored and read
        # back), then the held-back events are added one by one
        compact(definition, earlier, today)
        earlier.totals = score_from_tallies(definition, earlier, today, segments).totals
        tally: Tally = decode_tally(encode_tally(earlier))
        assert tally.totals == earlier.totals
        for event, via in late:
            if via is None:
                new = own_events(definition, [event])
            else:
                contact, labels = via
                new = contact_events(definition, contact, labels, [event])
            add_events(definition, tally, new, today)
        # Then the totals it scores from give exactly the whole tally's score, entry by entry
        fast = score_from_tallies(definition, tally, today, segments)
        compact(definition, whole, today)
        assert tally == whole
        assert tally.totals is not None, "the totals were dropped: the fast path went untested"
        assert _shown(fast) == _shown(score_from_tallies(definition, whole, today, segments))
