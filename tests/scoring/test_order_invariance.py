"""Deliveries in any order, any number of times: the stored records, links, counted events and
scores depend only on which changes arrived, never on their order (last writer wins by
occurredAt per fact, ties by the change's id; tombstones for deletions and link removals).

A random change log — property changes, creations, restores, deletions, merges, link
additions, relabellings and removals, engagements — applied in a random permutation with random
duplicates must leave exactly what the same log applied sorted by (occurredAt, id) leaves.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.memory_store import MemoryStore
from healthscore.domain.changes import (
    AssociationChanged,
    Change,
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
    RecordsMerged,
)
from healthscore.domain.dataset import AssociationLine, Event
from healthscore.domain.ordering import change_stamp
from healthscore.ports import ScoreStore
from healthscore.services.incremental import IncrementalScorer

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
BASE_MS = int((NOW - timedelta(days=2)).timestamp() * 1000)
SEGMENT = {"id": "seg-all-companies", "name": "All companies", "object_type": "companies"}
DEFINITION: dict[str, Any] = {
    "name": "Order test",
    "object_type": "companies",
    "segments": ["seg-all-companies"],
    "groups": [
        {
            "name": "Meetings",
            "kind": "event",
            "max_points": 40,
            "rules": [
                {"event_type": "meeting_booked", "points": 10, "limit": 30},
                {
                    "event_type": "email_replied",
                    "points": 5,
                    "association": {"labels": ["Champion"]},
                },
            ],
        },
        {
            "name": "Profile",
            "kind": "property",
            "max_points": 60,
            "rules": [
                {
                    "object": "self",
                    "points": 20,
                    "conditions": [{"property": "nps_score", "operator": "gte", "value": 9}],
                },
                {
                    "object": "contacts",
                    "points": 10,
                    "limit": 20,
                    "conditions": [
                        {"property": "role", "operator": "eq_any", "values": ["Champion"]}
                    ],
                },
            ],
        },
    ],
    "thresholds": [
        {"min": 0, "label": "At-risk", "color": "#d0021b"},
        {"min": 30, "label": "Healthy", "color": "#2e9d5b"},
    ],
}
COMPANIES = ("c1", "c2")
CONTACTS = ("p1", "p2", "p3")


@st.composite
def change_logs(draw: st.DrawFn) -> list[Change]:
    """Up to 30 changes over 2 companies and 3 contacts, their occurredAt drawn from a few
    milliseconds so that ties happen (each change has its own id)."""
    count = draw(st.integers(1, 30))
    log: list[Change] = []
    for n in range(count):
        at = BASE_MS + draw(st.integers(0, 12))
        change_id = f"x{n}"
        kinds = ["property", "create", "delete", "merge", "link", "unlink", "event"]
        kind = draw(st.sampled_from(kinds))
        company, contact = draw(st.sampled_from(COMPANIES)), draw(st.sampled_from(CONTACTS))
        on_company = draw(st.booleans())
        record = ("companies", company) if on_company else ("contacts", contact)
        if kind == "property":
            if on_company:
                value = draw(st.sampled_from([3, 9, 10, None]))
                properties = {"nps_score": value}
            else:
                properties = {"role": draw(st.sampled_from(["Champion", "User", None]))}
            log.append(PropertiesChanged(*record, properties, at, change_id=change_id))
        elif kind == "create":
            log.append(PropertiesChanged(*record, {}, at, created=True, change_id=change_id))
        elif kind == "delete":
            log.append(RecordDeleted(*record, at, change_id))
        elif kind == "merge":
            # survivors are never merged away (HubSpot cannot merge into a record it removed)
            primary, others = ("c1", ["c2"]) if on_company else ("p1", ["p2", "p3"])
            merged = draw(st.sampled_from(others))
            log.append(RecordsMerged(record[0], primary, (merged,), at, change_id))
        elif kind in ("link", "unlink"):
            labels = tuple(draw(st.sets(st.sampled_from(["Champion", "Billing"]))))
            line = AssociationLine("companies", company, "contacts", contact, tuple(sorted(labels)))
            if draw(st.booleans()):  # either direction, as HubSpot sends both
                line = AssociationLine("contacts", contact, "companies", company, line.labels)
            log.append(AssociationChanged(line, kind == "unlink", at, change_id))
        else:
            kind_of_event = draw(st.sampled_from(["meeting_booked", "email_replied"]))
            day = NOW - timedelta(days=draw(st.integers(1, 20)))
            log.append(EventArrived(Event(f"ev{n}", kind_of_event, day, *record)))
    return log


def _outcome(store: ScoreStore, account: str) -> dict[str, Any]:
    data = store.dataset(account)
    return {
        "records": sorted((r.key, sorted(r.properties.items())) for r in data.all_records()),
        "links": sorted(
            (line.from_type, line.from_id, line.to_type, line.to_id, line.labels)
            for line in store.all_associations(account)
        ),
        "events": sorted((e.owner, e.id) for e in data.all_events()),
        "scores": sorted(
            (s.key, s.score, s.status, sorted(s.groups.items()))
            for s in store.scores(account, "order")
        ),
    }


def _apply(store: ScoreStore, account: str, log: list[Change]) -> dict[str, Any]:
    store.put_segment(account, SEGMENT)
    store.put_live_definition(account, "order", DEFINITION, 1)  # no records yet: no recompute
    scorer = IncrementalScorer(store, clock=lambda: NOW, sleep=lambda _s: None)
    for change in log:
        scorer.apply(account, change)
    return _outcome(store, account)


def _sorted(log: list[Change]) -> list[Change]:
    return sorted(log, key=change_stamp)


def _shuffled_with_duplicates(log: list[Change], seed: int) -> list[Change]:
    rng = random.Random(seed)
    delivered = log + [rng.choice(log) for _ in range(len(log) // 3)]
    rng.shuffle(delivered)
    return delivered


@settings(
    max_examples=int(os.environ.get("ORDER_EXAMPLES", "100")),  # make soak: 500
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(log=change_logs(), seed=st.integers(0, 2**32))
def test_any_order_and_any_duplicates_leave_what_the_sorted_log_leaves(
    log: list[Change], seed: int
) -> None:
    expected = _apply(MemoryStore(), "sorted", _sorted(log))
    assert _apply(MemoryStore(), "shuffled", _shuffled_with_duplicates(log, seed)) == expected


def test_a_delete_then_an_older_property_change_does_not_bring_a_ghost_back() -> None:
    key = ("companies", "c1")
    created = PropertiesChanged(*key, {"nps_score": 10}, BASE_MS, change_id="a")
    deleted = RecordDeleted(*key, BASE_MS + 5_000, "b")
    late = PropertiesChanged(*key, {"nps_score": 9}, BASE_MS + 4_000, change_id="c")
    store = MemoryStore()
    outcome = _apply(store, "ghost", [created, deleted, late])
    assert outcome["records"] == []
    assert outcome["scores"] == []
    # and a replayed deletion does not delete the record re-created since
    again = PropertiesChanged(*key, {"nps_score": 3}, BASE_MS + 9_000, change_id="d")
    scorer = IncrementalScorer(store, clock=lambda: NOW)
    scorer.apply("ghost", again)
    scorer.apply("ghost", deleted)
    assert _outcome(store, "ghost")["records"] == [(key, [("nps_score", 3)])]


def test_a_link_removed_later_stays_removed_when_its_addition_arrives_last() -> None:
    line = AssociationLine("companies", "c1", "contacts", "p1", ("Champion",))
    removed = AssociationChanged(line, True, BASE_MS + 5_000, "r")
    added = AssociationChanged(line, False, BASE_MS + 4_000, "a")
    outcome = _apply(MemoryStore(), "links", [removed, added])
    assert outcome["links"] == []


def test_an_event_of_a_deleted_contact_is_kept_and_counts_when_it_comes_back() -> None:
    link = AssociationChanged(
        AssociationLine("companies", "c1", "contacts", "p1", ()), False, BASE_MS, "l"
    )
    created = PropertiesChanged("companies", "c1", {}, BASE_MS, created=True, change_id="c")
    gone = RecordDeleted("contacts", "p1", BASE_MS + 1_000, "d")
    meeting = EventArrived(Event("m1", "meeting_booked", NOW - timedelta(days=1), "contacts", "p1"))
    relinked = AssociationChanged(
        AssociationLine("companies", "c1", "contacts", "p1", ()), False, BASE_MS + 3_000, "l2"
    )
    store = MemoryStore()
    outcome = _apply(store, "kept", [created, link, gone, meeting, relinked])
    assert outcome["events"] == []  # kept, not counted: the contact is tombstoned
    assert outcome["scores"] == [
        (("companies", "c1"), 0, "At-risk", [("Meetings", 0), ("Profile", 0)])
    ]
    assert [e.id for e in store.events_of("kept", ("contacts", "p1"))] == ["m1"]
    back = PropertiesChanged("contacts", "p1", {}, BASE_MS + 4_000, created=True, change_id="b")
    IncrementalScorer(store, clock=lambda: NOW).apply("kept", back)
    after = _outcome(store, "kept")
    assert after["events"] == [(("contacts", "p1"), "m1")]
    assert after["scores"][0][1] == 10  # the meeting counts again, through the new link


def test_on_dynamodb_local_a_shuffled_log_leaves_what_the_sorted_one_leaves(
    local_store: DynamoStore,
) -> None:
    """The same property, on DynamoDB's own conditions and tombstone filters (fewer logs)."""
    rng = random.Random(14)
    for n in range(3):
        log = _fixed_log(rng)
        expected = _apply(MemoryStore(), f"m{n}", _sorted(log))
        assert _apply(local_store, f"sorted{n}", _sorted(log)) == expected
        assert _apply(local_store, f"shuffled{n}", _shuffled_with_duplicates(log, n)) == expected


def _fixed_log(rng: random.Random) -> list[Change]:
    """A random log like `change_logs`, drawn with `random` (hypothesis' example() is not for
    tests)."""
    log: list[Change] = []
    for n in range(25):
        at = BASE_MS + rng.randint(0, 12)
        company, contact = rng.choice(COMPANIES), rng.choice(CONTACTS)
        record = ("companies", company) if rng.random() < 0.5 else ("contacts", contact)
        kind = rng.choice(["property", "create", "delete", "merge", "link", "unlink", "event"])
        if kind == "property":
            value: dict[str, Any] = (
                {"nps_score": rng.choice([3, 9, 10, None])}
                if record[0] == "companies"
                else {"role": rng.choice(["Champion", "User", None])}
            )
            log.append(PropertiesChanged(*record, value, at, change_id=f"x{n}"))
        elif kind == "create":
            log.append(PropertiesChanged(*record, {}, at, created=True, change_id=f"x{n}"))
        elif kind == "delete":
            log.append(RecordDeleted(*record, at, f"x{n}"))
        elif kind == "merge":
            primary, others = ("c1", ["c2"]) if record[0] == "companies" else ("p1", ["p2", "p3"])
            log.append(RecordsMerged(record[0], primary, (rng.choice(others),), at, f"x{n}"))
        elif kind in ("link", "unlink"):
            labels = tuple(sorted(rng.sample(["Champion", "Billing"], rng.randint(0, 2))))
            line = AssociationLine("companies", company, "contacts", contact, labels)
            log.append(AssociationChanged(line, kind == "unlink", at, f"x{n}"))
        else:
            day = NOW - timedelta(days=rng.randint(1, 20))
            event_type = rng.choice(["meeting_booked", "email_replied"])
            log.append(EventArrived(Event(f"ev{n}", event_type, day, *record)))
    return log


def test_on_dynamodb_local_tombstones_outlive_a_scorer_clock_in_the_past(
    local_store: DynamoStore,
) -> None:
    """DynamoDB's TTL runs on the wall clock (DynamoDB Local removes an expired item within
    seconds): a deletion scored on a clock months back must still leave a tombstone that lives
    `TOMBSTONE_DAYS` from now, or an older change arriving after it brings the record back."""
    from healthscore.adapters.dynamo_writes import TOMBSTONE_DAYS

    key = ("companies", "c1")
    scorer = IncrementalScorer(local_store, clock=lambda: NOW - timedelta(days=200))
    scorer.apply("ttl", PropertiesChanged(*key, {"nps_score": 10}, BASE_MS, change_id="a"))
    scorer.apply("ttl", RecordDeleted(*key, BASE_MS + 5_000, "b"))
    line = AssociationLine("companies", "c1", "contacts", "p1", ())
    scorer.apply("ttl", AssociationChanged(line, True, BASE_MS + 6_000, "r"))
    horizon = datetime.now(UTC) + timedelta(days=TOMBSTONE_DAYS - 1)
    tables = local_store.tables
    # the record's tombstone and the removed link's both directions, all in the records table
    expiries = [item.expires_at for item in tables.records.query("ttl")]
    assert len(expiries) == 3
    assert all(at is not None and at > horizon for at in expiries)
    scorer.apply("ttl", PropertiesChanged(*key, {"nps_score": 9}, BASE_MS + 4_000, change_id="c"))
    assert local_store.dataset("ttl").all_records() == []
