"""One suite of behaviours for the account-data port (healthscore.ports.AccountData), run on
every implementation: in memory, DynamoDB on moto, and DynamoDB Local (AWS's emulator). The
in-memory store may stand in for DynamoDB in use-case tests only because it passes this suite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from healthscore.domain.dataset import AssociationLine, Event, Record
from healthscore.ports import AccountData

PROPERTIES: dict[str, Any] = {
    "name": "Acme #1 — Zürich",
    "employees": 120,
    "arr": 12500.5,
    "active": True,
    "tags": ["a", "b"],
    "address": {"city": "Zürich", "zip": 8001},
    "empty": None,
}


def test_a_record_round_trips_with_json_values_and_lists(store: AccountData, account: str):
    store.put_record(account, Record("companies", "c1", PROPERTIES, frozenset({"vip", "q3"})))
    found = store.record(account, ("companies", "c1"))
    assert found == Record("companies", "c1", PROPERTIES, frozenset({"vip", "q3"}))
    assert store.record(account, ("companies", "nope")) is None
    # putting it again replaces it whole
    store.put_record(account, Record("companies", "c1", {"name": "Acme"}))
    assert store.record(account, ("companies", "c1")) == Record("companies", "c1", {"name": "Acme"})


def test_records_are_listed_in_key_order_and_counted_by_type(store: AccountData, account: str):
    ids = ["b", "a#2", "a", "a%", "a 1", "Ä"]
    for record_id in ids:
        store.put_record(account, Record("companies", record_id))
    store.put_record(account, Record("contacts", "p1"))
    store.put_record(account, Record("custom:widgets", "w1"))
    listed = [(r.object_type, r.id) for r in store.all_records(account)]
    companies = [k for k in listed if k[0] == "companies"]
    assert sorted(companies) == sorted(("companies", i) for i in ids)
    assert listed == sorted(
        listed, key=lambda k: (k[0], k[1].replace("%", "%25").replace("#", "%23"))
    )
    assert store.count_records(account, "companies") == 6
    assert store.count_records(account, "contacts") == 1
    assert store.count_records(account, "custom:widgets") == 1
    assert store.count_records(account, "deals") == 0
    wanted = [("companies", "a#2"), ("contacts", "p1"), ("contacts", "missing")]
    assert sorted(r.key for r in store.records(account, wanted)) == sorted(wanted[:2])


def test_links_stored_beside_records_never_show_as_records_nor_records_as_links(
    store: AccountData, account: str
):
    # Given records whose ids share prefixes ("a", "a 1", "a#2"), each linked to others (a
    # record's links are stored right after it in key order)
    for record_id in ("a", "a 1", "a#2", "b"):
        store.put_record(account, Record("companies", record_id))
    for contact in ("p1", "p2"):
        store.put_record(account, Record("contacts", contact))
        for company in ("a", "a 1", "a#2"):
            store.put_association(
                account, AssociationLine("companies", company, "contacts", contact, ("Champion",))
            )
    # Then counts, pages and the whole account hold the records alone
    assert store.count_records(account, "companies") == 4
    assert store.count_records(account, "contacts") == 2
    assert [r.id for r in store.records_after(account, "companies", None, 3)] == ["a", "a 1", "a#2"]
    assert [r.id for r in store.records_after(account, "companies", "a 1", 10)] == ["a#2", "b"]
    assert len(list(store.all_records(account))) == 6
    # and each record's links are its own, the account's links each once
    assert [x.to_id for x in store.associations_of(account, ("companies", "a"))] == ["p1", "p2"]
    assert [x.to_id for x in store.associations_of(account, ("companies", "a 1"))] == ["p1", "p2"]
    assert len(list(store.all_associations(account))) == 6


def test_a_link_is_stored_both_ways_and_its_labels_replaced(store: AccountData, account: str):
    line = AssociationLine("companies", "c1", "contacts", "p1", ("Champion",))
    store.put_association(account, line)
    store.put_association(account, AssociationLine("companies", "c1", "contacts", "p0", ()))
    assert store.associations_of(account, ("contacts", "p1")) == [
        AssociationLine("contacts", "p1", "companies", "c1", ("Champion",))
    ]
    assert store.associations_of(account, ("companies", "c1")) == [
        AssociationLine("companies", "c1", "contacts", "p0", ()),
        AssociationLine("companies", "c1", "contacts", "p1", ("Champion",)),
    ]
    # the labels are replaced, from either end
    store.put_association(
        account,
        AssociationLine("contacts", "p1", "companies", "c1", ("Decision maker", "Champion")),
    )
    assert store.association_labels(account, line) == ("Decision maker", "Champion")
    reverse = AssociationLine("contacts", "p1", "companies", "c1")
    assert store.association_labels(account, reverse) == ("Decision maker", "Champion")
    assert (
        store.association_labels(account, AssociationLine("companies", "c1", "contacts", "p9"))
        is None
    )
    # each link once, from its smaller end
    assert list(store.all_associations(account)) == [
        AssociationLine("companies", "c1", "contacts", "p0", ()),
        AssociationLine("companies", "c1", "contacts", "p1", ("Decision maker", "Champion")),
    ]


def test_an_event_is_stored_once_per_owner_and_id_in_utc_milliseconds(
    store: AccountData, account: str
):
    at = datetime(2026, 6, 1, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    event = Event("e1", "meeting_booked", at, "contacts", "p1", {"outcome": "held", "n": 2})
    assert store.put_event(account, event) is True
    assert store.put_event(account, Event("e1", "call_ended", at, "contacts", "p1")) is False
    assert store.put_event(account, Event("e1", "call_ended", at, "contacts", "p10")) is True
    assert store.events_of(account, ("contacts", "p1")) == [
        Event(
            "e1",
            "meeting_booked",
            datetime(2026, 6, 1, 8, 30, 15, 123000, tzinfo=UTC),
            "contacts",
            "p1",
            {"outcome": "held", "n": 2},
        )
    ]
    assert [e.object_id for e in store.all_events(account)] == ["p1", "p10"]


def test_accounts_never_see_each_others_data(store: AccountData, account: str):
    other = account + "-other"
    store.put_record(account, Record("companies", "c1", {"name": "Ours"}))
    store.put_association(account, AssociationLine("companies", "c1", "contacts", "p1"))
    store.put_event(account, Event("e1", "x", datetime(2026, 6, 1, tzinfo=UTC), "contacts", "p1"))
    assert store.record(other, ("companies", "c1")) is None
    assert list(store.all_records(other)) == []
    assert store.associations_of(other, ("companies", "c1")) == []
    assert store.events_of(other, ("contacts", "p1")) == []
    assert store.count_records(other, "companies") == 0


def test_a_neighbourhood_holds_what_scoring_one_record_reads(store: AccountData, account: str):
    # Given a company with a contact (who has events), a ticket, and an unrelated company
    at = datetime(2026, 6, 1, tzinfo=UTC)
    store.put_record(account, Record("companies", "c1", {"nps": 9}))
    store.put_record(account, Record("companies", "c2"))
    store.put_record(account, Record("contacts", "p1", {"role": "VP"}))
    store.put_record(account, Record("tickets", "t1", {"status": "open"}))
    store.put_association(
        account, AssociationLine("companies", "c1", "contacts", "p1", ("Champion",))
    )
    store.put_association(account, AssociationLine("companies", "c1", "tickets", "t1"))
    store.put_event(account, Event("m1", "meeting_booked", at, "contacts", "p1"))
    store.put_event(account, Event("o1", "form_submitted", at, "companies", "c1"))
    store.put_event(account, Event("x1", "meeting_booked", at, "companies", "c2"))
    segment = {"id": "all", "name": "All companies", "object_type": "companies"}
    store.put_segment(account, segment)
    # When the company's neighbourhood is read, with its contacts' events
    near = store.neighbourhood(account, ("companies", "c1"), contacts_events=True)
    # Then it holds the company, its associated records, both events and the segment
    assert near.has_record(("contacts", "p1"))
    assert near.record(("tickets", "t1")).properties == {"status": "open"}
    assert not near.has_record(("companies", "c2"))
    assert sorted(e.id for e in near.all_events()) == ["m1", "o1"]
    assert list(near.segments) == ["all"]
    without = store.neighbourhood(account, ("companies", "c1"), contacts_events=False)
    assert [e.id for e in without.all_events()] == ["o1"]
    whole = store.dataset(account)
    assert sorted(e.id for e in whole.all_events()) == ["m1", "o1", "x1"]
    assert whole.has_record(("companies", "c2"))
