"""A tally's storage form: any tally survives it exactly, it is small, and the older JSON form
still decodes."""

from __future__ import annotations

import base64
import random
from collections import Counter
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from healthscore.domain.tallies import ALWAYS, DayTotals, EventSums, RuleTotal, Tally
from healthscore.domain.tally_storage import decode_tally, encode_tally

ORDINALS = st.integers(min_value=700_000, max_value=800_000)
DATE_DAYS = st.lists(st.lists(ORDINALS, max_size=3).map(tuple), max_size=2).map(tuple)
EVENT_ENTRIES = st.tuples(
    st.integers(-100, 100),
    st.one_of(st.just(ALWAYS), ORDINALS),
    DATE_DAYS,
    st.one_of(st.none(), DATE_DAYS),
)
RULE_KEYS = st.tuples(st.integers(0, 19), st.integers(0, 49))
COUNTS = st.integers(min_value=1, max_value=100_000)
JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.text(max_size=20)
)

SMALL = st.integers(-(10**9), 10**9)
MAYBE = st.one_of(st.none(), SMALL)
TOTALS = st.one_of(
    st.none(),
    st.builds(
        DayTotals,
        day=ORDINALS,
        events=st.dictionaries(
            RULE_KEYS, st.builds(EventSums, SMALL, SMALL, SMALL, SMALL, MAYBE, MAYBE)
        ),
        properties=st.dictionaries(
            RULE_KEYS,
            st.builds(RuleTotal, SMALL, SMALL, SMALL).filter(
                lambda t: (t.hundredths, t.matched) != (0, 0)
            ),
        ),
        next_day=st.one_of(st.none(), ORDINALS),
    ).filter(lambda t: t.next_day is None or t.next_day > t.day),
)

TALLIES = st.builds(
    Tally,
    events=st.dictionaries(
        RULE_KEYS, st.dictionaries(EVENT_ENTRIES, COUNTS, min_size=1).map(Counter)
    ),
    records=st.dictionaries(
        RULE_KEYS,
        st.dictionaries(st.tuples(st.integers(-100, 100), DATE_DAYS), COUNTS, min_size=1).map(
            Counter
        ),
    ),
    properties=st.dictionaries(
        st.text(max_size=12), st.one_of(JSON_VALUES, st.lists(JSON_VALUES, max_size=3))
    ),
    lists=st.frozensets(st.text(max_size=8), max_size=3),
    changed=st.dictionaries(st.text(max_size=12), ORDINALS, max_size=3),
    totals=TOTALS,
)


@settings(max_examples=120, deadline=None)
@given(TALLIES)
def test_any_tally_survives_its_storage_form_and_encodes_the_same_way_again(tally):
    # Given any tally: rules' event entries by points, day (a compacted one too), date-condition
    # and filter days; associated-record entries; properties, lists and change days
    # When it is encoded and decoded
    stored = encode_tally(tally)
    again = decode_tally(stored)
    # Then it is the same tally (with what it scored on its day), and encoding it again gives
    # the same bytes
    assert again == tally
    assert again.totals == tally.totals
    assert encode_tally(again) == stored


def test_equal_tallies_encode_to_equal_bytes_whatever_their_insertion_order():
    # Given one tally's entries inserted in two different orders
    entries = [((0, 0), (10, 740_000 + d, (), None), d % 7 + 1) for d in range(50)]
    entries += [((1, 2), (-5, 740_000 + d, ((739_000,),), None), 1) for d in range(0, 50, 3)]
    first, second = Tally(), Tally()
    shuffled = list(entries)
    random.Random(5).shuffle(shuffled)
    for tally, rows in ((first, entries), (second, shuffled)):
        for key, entry, count in rows:
            tally.events.setdefault(key, Counter())[entry] = count
    # Then the bytes are equal
    assert encode_tally(first) == encode_tally(second)


def test_a_year_of_dense_daily_activity_on_five_rules_stays_under_650_bytes():
    # Given the incremental benchmark's year-long company: 10,000 events over 365 days of four
    # types (about 27 a day), tallied on five rules within their horizons (decay reaches 0
    # after 210 days, the calls' timeframe is 180 days)
    rng = random.Random(365)
    today = date(2026, 6, 15).toordinal()
    rules = {"meeting_booked": [(0, 0)], "email_replied": [(0, 1)], "document_viewed": [(0, 3)]}
    points = {(0, 0): 10, (0, 1): 5, (0, 3): 3, (1, 0): 10, (1, 1): 5}
    tally = Tally(properties={"nps_score": 5})
    for n in range(10_000):
        day = today - 1 - (n % 365)
        kind = rng.choice([*rules, "call_ended"])
        keys = rules.get(kind) or ([(1, 0), (1, 1)] if rng.random() < 0.5 else [(1, 1)])
        for key in keys:
            if today - day < (180 if key[0] == 1 else 210):
                counts = tally.events.setdefault(key, Counter())
                counts[(points[key], day, (), None)] += 1
    assert 900 < tally.size < 1100
    # When it is encoded
    stored = encode_tally(tally)
    # Then it is a few hundred bytes (the JSON form took about 3 KB), and decodes to itself
    assert len(stored) < 650, len(stored)
    assert decode_tally(stored) == tally


def test_the_json_form_written_before_the_binary_one_still_decodes():
    # Given bytes stored by the earlier encoder (zlib-compressed JSON)
    legacy = base64.b64decode(
        "eJw9jtEKgzAMRf/lPkdotUPWj9gPhCJDyibUKq17Ev/dpA8LNA03yc05McOfmOs61ZiPZZUEPw5PiYsQ4ZkNGWK2h"
        "jpLHCj/UqI+kCqjMxJ/dQhBdZI57h6ta3W3+Rntaakb7bOiyJOMJIeQLKTcFSjvdarzVgRgJJT4WbYMj9dWjm981w"
        "MCVxSub3DdoNZOrpnmSewUqlfz6waGNT/O"
    )
    # When it is decoded
    tally = decode_tally(legacy)
    # Then every part of it is there
    assert tally == Tally(
        events={
            (0, 0): Counter({(10, 740_000, (), None): 3, (10, ALWAYS, (), None): 2}),
            (1, 1): Counter({(-5, 740_010, ((739_990,),), ((739_000, 739_001),)): 1}),
        },
        records={(2, 0): Counter({(4, ()): 2, (-3, ((740_100,),)): 1})},
        properties={"nps_score": 7, "region": "Northeast"},
        lists=frozenset({"l1"}),
        changed={"csm_sentiment": 739_999},
    )
