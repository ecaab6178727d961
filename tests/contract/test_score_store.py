"""One suite of behaviours for the score-store port (healthscore.ports.ScoreStore and its units
of work), on memory, moto and DynamoDB Local: what the scorer, the sweep and the recompute rely
on — versioned states, all-or-nothing changes, duplicates recognised, lone writes as conditional
as transactions, link conditions, the due index, history pages, the live marker and one-read
snapshots."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from healthscore.domain.dataset import AssociationLine, Event, Record, StoredLink, StoredRecord
from healthscore.domain.errors import Conflict, InvalidRequest
from healthscore.domain.ordering import stamp
from healthscore.domain.score_state import ScoreState, rule_digest
from healthscore.ports import ScoreStore, WriteRefused

AT = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
HEALTH = {"name": "Health", "object_type": "companies", "segments": ["all"], "groups": []}


def _state(key: tuple[str, str] = ("companies", "c1"), **values: object) -> ScoreState:
    state = ScoreState(
        "health",
        key,
        score=62,
        status="Neutral",
        color="#f5a623",
        groups={"Engagement": 12.5, "NPS": 10},
        rules={"Engagement / r1": 12.5},
        revision=1,
        tallies=b"\x00\x01tally",
        due_day=date(2026, 6, 20),
        changed_at=AT,
        change={"delta": 4, "status_before": "At-risk", "kind": "event"},
        updated_at=AT,
    )
    for name, value in values.items():
        setattr(state, name, value)
    return state


def _commit(store: ScoreStore, account: str, *writes: object) -> None:
    unit = store.change_writes(account)
    for write in writes:
        getattr(unit, write[0])(*write[1:])  # type: ignore[index]
    unit.commit()


def test_a_state_round_trips_and_each_write_moves_its_version(store: ScoreStore, account: str):
    _commit(store, account, ("put_state", _state()))
    stored = store.score(account, "health", ("companies", "c1"))
    assert stored is not None
    assert stored.version == 1
    assert (stored.score, stored.status, stored.color) == (62, "Neutral", "#f5a623")
    assert stored.groups == {"Engagement": 12.5, "NPS": 10}
    assert stored.rules == {rule_digest("Engagement / r1"): 12.5}  # points kept by digest
    assert (stored.revision, stored.tallies, stored.due_day) == (
        1,
        b"\x00\x01tally",
        date(2026, 6, 20),
    )
    assert stored.change == {"delta": 4, "status_before": "At-risk", "kind": "event"}
    assert stored.changed_at == AT
    stored.score = 70
    _commit(store, account, ("put_state", stored))
    again = store.score(account, "health", ("companies", "c1"))
    assert again is not None
    assert (again.score, again.version) == (70, 2)


def test_states_read_are_copies_and_listed_in_record_order(store: ScoreStore, account: str):
    for record_id in ("c3", "c1", "c2"):
        _commit(store, account, ("put_state", _state(("companies", record_id))))
    read = store.score_states(
        account, [("health", ("companies", "c1")), ("health", ("companies", "nope"))]
    )
    assert list(read) == [("health", ("companies", "c1"))]
    read[("health", ("companies", "c1"))].groups["NPS"] = -100  # the caller's copy only
    assert store.score(account, "health", ("companies", "c1")).groups["NPS"] == 10  # type: ignore[union-attr]
    assert [s.key[1] for s in store.scores(account, "health")] == ["c1", "c2", "c3"]
    assert list(store.scores(account, "other")) == []


def test_a_stale_write_refuses_the_whole_change(store: ScoreStore, account: str):
    # Given a state at version 1, read by two writers
    _commit(store, account, ("put_state", _state()))
    first = store.score(account, "health", ("companies", "c1"))
    second = store.score(account, "health", ("companies", "c1"))
    assert first is not None
    assert second is not None
    first.score = 80
    _commit(store, account, ("put_state", first))
    # When the second writes from its stale read, with a record in the same change
    second.score = 10
    unit = store.change_writes(account)
    unit.put_record(StoredRecord(Record("companies", "c1", {"nps": 1})), AT)
    unit.put_state(second)
    with pytest.raises(WriteRefused) as refused:
        unit.commit()
    # Then nothing of that change is stored, and it is not taken for a duplicate
    assert not refused.value.duplicate
    assert store.score(account, "health", ("companies", "c1")).score == 80  # type: ignore[union-attr]
    assert store.record(account, ("companies", "c1")) is None


def test_a_new_state_is_refused_when_one_was_written_meanwhile(store: ScoreStore, account: str):
    _commit(store, account, ("put_state", _state()))
    with pytest.raises(WriteRefused):
        _commit(store, account, ("put_state", _state()))  # a version-less write: "new"


def test_an_event_stored_twice_is_recognised_as_a_duplicate(store: ScoreStore, account: str):
    event = Event("e1", "meeting_booked", AT, "contacts", "p1")
    _commit(store, account, ("put_event_once", event), ("put_state", _state()))
    unit = store.change_writes(account)
    unit.put_event_once(event)
    unit.put_state(_state(("companies", "c9")))
    with pytest.raises(WriteRefused) as refused:
        unit.commit()
    assert refused.value.duplicate
    assert store.score(account, "health", ("companies", "c9")) is None
    assert len(store.events_of(account, ("contacts", "p1"))) == 1


def test_a_single_write_is_conditional_like_a_transaction(store: ScoreStore, account: str):
    # Given a stored state (a lone put: a conditional PutItem, not a transaction)
    _commit(store, account, ("put_state", _state()))
    stale = store.score(account, "health", ("companies", "c1"))
    assert stale is not None
    _commit(store, account, ("put_state", stale))
    # Then a write from the version read before is refused, as is a lone event put twice
    with pytest.raises(WriteRefused) as refused:
        _commit(store, account, ("put_state", stale))
    assert not refused.value.duplicate
    event = Event("e1", "meeting_booked", AT, "contacts", "p1")
    _commit(store, account, ("put_event_once", event))
    with pytest.raises(WriteRefused) as again:
        _commit(store, account, ("put_event_once", event))
    assert again.value.duplicate
    # and a lone delete from a stale version is refused too
    with pytest.raises(WriteRefused):
        _commit(store, account, ("delete_state", stale))
    assert store.score(account, "health", ("companies", "c1")) is not None


def test_links_change_only_from_the_stamp_read_and_removals_leave_tombstones(
    store: ScoreStore, account: str
):
    line = AssociationLine("companies", "c1", "contacts", "p1", ("Champion",))
    back = AssociationLine("contacts", "p1", "companies", "c1")
    t1, t2, t3 = stamp(1000, "a"), stamp(2000, "b"), stamp(3000, "c")
    _commit(store, account, ("set_link", line, None, t1, AT))
    assert store.stored_link(account, back) == StoredLink(("Champion",), t1)
    with pytest.raises(WriteRefused):  # "new" link, but it exists now
        _commit(store, account, ("set_link", line, None, t1, AT))
    relabelled = AssociationLine(
        "companies", "c1", "contacts", "p1", ("Champion", "Decision maker")
    )
    with pytest.raises(WriteRefused):  # read at another stamp
        _commit(store, account, ("set_link", relabelled, t3, t2, AT))
    _commit(store, account, ("set_link", relabelled, t1, t2, AT))
    assert store.association_labels(account, back) == ("Champion", "Decision maker")
    assert store.stored_links_of(account, ("contacts", "p1")) == [
        (AssociationLine("contacts", "p1", "companies", "c1", ("Champion", "Decision maker")), t2)
    ]
    with pytest.raises(WriteRefused):
        _commit(store, account, ("remove_link", line, t1, t3))
    _commit(store, account, ("remove_link", line, t2, t3))
    # Then the link is gone for every reader, and its tombstone keeps the removal's stamp
    assert store.associations_of(account, ("contacts", "p1")) == []
    assert list(store.all_associations(account)) == []
    assert store.association_labels(account, back) is None
    assert store.stored_link(account, back) == StoredLink(None, t3)
    with pytest.raises(WriteRefused):  # read as absent, but its tombstone is there
        _commit(store, account, ("set_link", line, None, t1, AT))
    # and a removal with no stamp takes the register away entirely
    _commit(store, account, ("remove_link", line, t3, None))
    assert store.stored_link(account, back) is None


def test_a_record_is_written_from_the_version_read(store: ScoreStore, account: str):
    record = Record("companies", "c1", {"nps": 9})
    times = {"nps": stamp(1000, "")}
    _commit(store, account, ("put_record", StoredRecord(record, times, alive=stamp(1000, "")), AT))
    stored = store.stored_record(account, ("companies", "c1"))
    assert stored is not None
    assert (stored.record, dict(stored.property_times), stored.version) == (record, times, 1)
    newer = StoredRecord(
        Record("companies", "c1", {"nps": 3}), {"nps": stamp(2000, "")}, stored.version
    )
    _commit(store, account, ("put_record", newer, AT))
    with pytest.raises(WriteRefused):  # the version read is stale now
        _commit(store, account, ("put_record", StoredRecord(record, {}, stored.version), AT))
    latest = store.stored_record(account, ("companies", "c1"))
    assert latest is not None
    assert latest.record.properties == {"nps": 3}


def test_a_tombstoned_record_is_kept_for_the_scorer_and_hidden_from_every_reader(
    store: ScoreStore, account: str
):
    key = ("contacts", "p1")
    alive, deleted = stamp(1000, "a"), stamp(2000, "b")
    visible = StoredRecord(Record(*key, {"email": "a@x.io"}), {"email": alive}, None, alive)
    _commit(store, account, ("put_record", visible, AT))
    store.put_event(account, Event("e1", "meeting_booked", AT, *key))
    version = store.stored_record(account, key).version  # type: ignore[union-attr]
    tombstone = StoredRecord(Record(*key), {}, version, alive, deleted)
    _commit(store, account, ("put_record", tombstone, AT))
    # Then the scorer reads the tombstone with its stamps
    stored = store.stored_record(account, key)
    assert stored is not None
    assert (stored.visible, stored.alive, stored.deleted, stored.merged_into) == (
        False,
        alive,
        deleted,
        None,
    )
    # and no reader of records sees it; its event is kept but the dataset does not count it
    assert store.record(account, key) is None
    assert store.records(account, [key]) == []
    assert list(store.all_records(account)) == []
    assert store.count_records(account, "contacts") == 0
    assert store.tombstoned(account, [key, ("contacts", "p2")]) == {key}
    assert store.all_tombstoned(account) == {key}
    assert [e.id for e in store.events_of(account, key)] == ["e1"]
    assert store.dataset(account).event_count == 0
    # until a later change brings it back
    back = StoredRecord(Record(*key), {}, stored.version, stamp(3000, "c"), deleted)
    _commit(store, account, ("put_record", back, AT))
    assert store.record(account, key) == Record(*key)
    assert store.tombstoned(account, [key]) == set()
    assert store.dataset(account).event_count == 1
    # while a record merged into another stays a tombstone, whatever is newer, and says where
    version = store.stored_record(account, key).version  # type: ignore[union-attr]
    merged = StoredRecord(Record(*key), {}, version, stamp(4000, "d"), deleted, "p0")
    _commit(store, account, ("put_record", merged, AT))
    assert store.record(account, key) is None
    assert store.stored_record(account, key).merged_into == "p0"  # type: ignore[union-attr]


def test_states_and_their_removal_follow_the_due_index(store: ScoreStore, account: str):
    _commit(store, account, ("put_state", _state(("companies", "c1"), due_day=date(2031, 1, 2))))
    _commit(store, account, ("put_state", _state(("companies", "c2"), due_day=date(2031, 1, 3))))
    _commit(store, account, ("put_state", _state(("companies", "c3"), due_day=None)))
    due = [(a, s.key[1]) for a, s in store.due_states(date(2031, 1, 2)) if a == account]
    assert due == [(account, "c1")]
    state = store.score(account, "health", ("companies", "c1"))
    assert state is not None
    state.due_day = None
    store.save_state(account, state)
    assert [s for a, s in store.due_states(date(2031, 1, 2)) if a == account] == []
    with pytest.raises(Conflict):  # saved from a stale read
        store.save_state(account, state)
    gone = store.score(account, "health", ("companies", "c2"))
    assert gone is not None
    _commit(store, account, ("delete_state", gone))
    assert store.score(account, "health", ("companies", "c2")) is None


def test_history_is_newest_first_in_pages_and_cursors_stay_in_their_record(
    store: ScoreStore, account: str
):
    key = ("companies", "c1")
    for n in range(5):
        entry = {"at": f"2026-06-1{n}", "after": n, "sequence": n}
        at = datetime(2026, 6, 10 + n, tzinfo=UTC)
        _commit(store, account, ("append_history", "health", key, at, entry))
    first, cursor = store.history(account, "health", key, 2, None)
    assert [e["after"] for e in first] == [4, 3]
    second, cursor = store.history(account, "health", key, 2, cursor)
    assert [e["after"] for e in second] == [2, 1]
    third, _last = store.history(account, "health", key, 2, cursor)
    assert [e["after"] for e in third] == [0]
    with pytest.raises(InvalidRequest):  # a cursor into another record's history
        store.history(account, "health", ("companies", "c2"), 2, cursor)


def test_a_hidden_link_keeps_its_labels_for_the_scorer_and_no_reader_sees_it(
    store: ScoreStore, account: str
):
    line = AssociationLine("companies", "c1", "contacts", "p1", ("Champion",))
    t1, deleted = stamp(1000, "a"), stamp(2000, "b")
    _commit(store, account, ("set_link", line, None, t1, AT))
    _commit(store, account, ("hide_link", line, t1, deleted))
    assert store.associations_of(account, ("companies", "c1")) == []
    assert store.stored_links_of(account, ("contacts", "p1")) == []
    assert store.association_labels(account, line) is None
    assert store.stored_link(account, line) == StoredLink(("Champion",), t1, deleted)
    assert store.link_registers_of(account, ("contacts", "p1")) == [
        (
            AssociationLine("contacts", "p1", "companies", "c1", ("Champion",)),
            StoredLink(("Champion",), t1, deleted),
        )
    ]


def test_history_at_is_the_last_entry_at_or_before_an_instant(
    store: ScoreStore, account: str
) -> None:
    from datetime import UTC, datetime, timedelta

    key = ("companies", "c1")
    start = datetime(2026, 5, 1, 12, tzinfo=UTC)
    for day, score in ((0, 10), (10, 20), (20, 30)):
        writes = store.change_writes(account)
        at = start + timedelta(days=day)
        writes.append_history("d1", key, at, {"at": at.isoformat(), "after": score, "sequence": 1})
        writes.commit()
    found = store.history_at(account, "d1", key, start + timedelta(days=15))
    assert found is not None
    assert found["after"] == 20
    exactly = store.history_at(account, "d1", key, start + timedelta(days=20))
    assert exactly is not None
    assert exactly["after"] == 30
    assert store.history_at(account, "d1", key, start - timedelta(seconds=1)) is None
    assert store.history_at(account, "d1", ("companies", "c2"), start) is None


def test_a_record_and_its_link_registers_are_one_read_and_no_neighbour_leaks_in(
    store: ScoreStore, account: str
):
    # Given a contact linked to two companies (one link removed since), and records whose ids
    # extend the contact's ("p1 x", "p1!"), linked too
    p1 = ("contacts", "p1")
    t1, t2 = stamp(1000, "a"), stamp(2000, "b")
    store.put_record(account, Record("contacts", "p1", {"role": "champion"}))
    for neighbour in ("p1 x", "p1!"):
        store.put_record(account, Record("contacts", neighbour))
        line = AssociationLine("contacts", neighbour, "companies", "c1", ("Other",))
        _commit(store, account, ("set_link", line, None, t1, AT))
    kept = AssociationLine("contacts", "p1", "companies", "c1", ("Champion",))
    gone = AssociationLine("contacts", "p1", "companies", "c2", ())
    _commit(store, account, ("set_link", kept, None, t1, AT), ("set_link", gone, None, t1, AT))
    _commit(store, account, ("remove_link", gone, t1, t2))
    # When the contact is read with its links
    found = store.record_links(account, p1)
    # Then the item and exactly its own registers come back: the visible link, the removal
    assert found.stored is not None
    assert found.stored.record.properties == {"role": "champion"}
    assert found.links == [kept]
    assert found.stamped == [(kept, t1)]
    assert [(line.to_id, register.labels) for line, register in found.registers] == [
        ("c1", ("Champion",)),
        ("c2", None),
    ]
    # and a record never stored has neither item nor links
    nobody = store.record_links(account, ("contacts", "p9"))
    assert nobody.stored is None
    assert nobody.registers == []


def test_a_snapshot_reads_the_live_marker_states_and_records_at_once(
    store: ScoreStore, account: str
):
    # Given a state, a record, and a marker that moved with a segment and a live score
    _commit(store, account, ("put_state", _state()))
    store.put_record(account, Record("companies", "c1", {"nps_score": 9}))
    before = store.live_marker(account)
    store.put_segment(account, {"id": "all", "name": "All", "object_type": "companies"})
    store.put_live_definition(account, "health", HEALTH, revision=1)
    # When they are read together (eventually consistent and consistent)
    for consistent in (False, True):
        snap = store.snapshot(
            account,
            states=[("health", ("companies", "c1")), ("health", ("companies", "c9"))],
            records=[("companies", "c1"), ("companies", "c9")],
            consistent=consistent,
        )
        # Then the marker has moved twice, and only what exists is there
        assert snap.marker == before + 2 == store.live_marker(account)
        assert list(snap.states) == [("health", ("companies", "c1"))]
        assert snap.states[("health", ("companies", "c1"))].score == 62
        assert list(snap.records) == [("companies", "c1")]
        assert snap.records[("companies", "c1")].record.properties == {"nps_score": 9}
    # and an account never written has marker 0
    assert store.snapshot(f"{account}-new").marker == 0


def test_a_snapshot_of_more_states_than_one_batch_holds_reads_them_all(
    store: ScoreStore, account: str
):
    # Given 130 states and 30 records (a contact linked to many scored companies)
    for n in range(0, 130, 10):
        _commit(
            store,
            account,
            *[("put_state", _state(("companies", f"c{n + i:03d}"))) for i in range(10)],
        )
    for n in range(30):
        store.put_record(account, Record("companies", f"c{n:03d}", {"nps_score": n}))
    wanted = [("health", ("companies", f"c{n:03d}")) for n in range(130)]
    # When they are read in one snapshot (160 keys and the marker: more than 100), a key twice
    snap = store.snapshot(
        account,
        states=[*wanted, wanted[0]],
        records=[("companies", f"c{n:03d}") for n in range(30)],
        consistent=True,
    )
    # Then every one of them is there
    assert sorted(snap.states) == sorted(wanted)
    assert len(snap.records) == 30
