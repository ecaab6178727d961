"""Webhooks in: HubSpot v3 signatures (checked against HubSpot's own SDK), batches parsed into
changes routed to accounts, items skipped with their reasons, and the secrets cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from healthscore.adapters.hubspot_signature import (
    SignatureRefused,
    hubspot_uri,
    signed_headers,
    verify,
)
from healthscore.adapters.webhooks import (
    MAX_BODY_BYTES,
    Batch,
    WebhookRefused,
    check_account,
    parse_batch,
    route_to,
)
from healthscore.domain.change_messages import decode_change
from healthscore.domain.changes import (
    AssociationChanged,
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
    RecordsMerged,
)
from healthscore.domain.dataset import AssociationLine

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
URI = "https://api.example.com/webhooks/events?account=acme"
SECRET = "s3cret"


def _body(items: object) -> bytes:
    return json.dumps(items).encode()


def test_a_correctly_signed_request_is_accepted():
    body = _body([{"id": "e1"}])
    headers = signed_headers(SECRET, "POST", URI, body, NOW - timedelta(seconds=30))
    verify(SECRET, "POST", URI, body, headers, NOW)  # no exception


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda h, b: ({}, b), "headers are required"),
        (lambda h, b: ({**h, "X-HubSpot-Signature-v3": "AAAA"}, b), "does not match"),
        (lambda h, b: (h, b + b" "), "does not match"),  # body changed after signing
        (lambda h, b: ({**h, "X-HubSpot-Request-Timestamp": "soon"}, b), "epoch milliseconds"),
    ],
)
def test_a_missing_wrong_or_tampered_signature_is_refused_with_401(tamper, message):
    body = _body([{"id": "e1"}])
    headers, sent = tamper(signed_headers(SECRET, "POST", URI, body, NOW), body)
    with pytest.raises(SignatureRefused) as refused:
        verify(SECRET, "POST", URI, sent, headers, NOW)
    assert message in str(refused.value)


def test_a_signature_older_than_five_minutes_is_refused_as_a_replay():
    body = _body([])
    headers = signed_headers(SECRET, "POST", URI, body, NOW - timedelta(minutes=6))
    with pytest.raises(SignatureRefused, match="more than 5 minutes"):
        verify(SECRET, "POST", URI, body, headers, NOW)


def test_another_accounts_secret_or_url_does_not_verify():
    body = _body([])
    headers = signed_headers("other-secret", "POST", URI, body, NOW)
    with pytest.raises(SignatureRefused):
        verify(SECRET, "POST", URI, body, headers, NOW)
    signed_for_b = signed_headers(SECRET, "POST", URI.replace("acme", "b"), body, NOW)
    with pytest.raises(SignatureRefused):
        verify(SECRET, "POST", URI, body, signed_for_b, NOW)


def test_hubspots_own_sdk_signs_what_the_verifier_accepts_for_any_uri():
    """HubSpot decodes %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B (any case) in the URI
    before signing; its SDK then signs the decoded URI. Other escapes stay as sent."""
    from hubspot.utils.signature import Signature

    sent = (
        "https://hooks.example.com/webhooks/events?account=acme"
        "&note=a%3Ab%2fc%3Fd%40e%21f%24g%27h%28i%29j%2Ak%2cl%3Bm&space=x%20y"
    )
    decoded = (
        "https://hooks.example.com/webhooks/events?account=acme"
        "&note=a:b/c?d@e!f$g'h(i)j*k,l;m&space=x%20y"
    )
    assert hubspot_uri(sent) == decoded
    body = _body([{"subscriptionType": "contact.creation", "objectId": 1, "occurredAt": 1}])
    now = datetime.now(UTC)  # the SDK checks the timestamp against the real clock
    timestamp = str(int(now.timestamp() * 1000))
    by_hubspot = Signature.get_signature(
        SECRET, body.decode(), "v3", http_uri=decoded, http_method="POST", timestamp=timestamp
    )
    headers = {"X-HubSpot-Signature-v3": by_hubspot, "X-HubSpot-Request-Timestamp": timestamp}
    verify(SECRET, "POST", sent, body, headers, now)  # the encoded URI the request came to
    # and what our signer (`healthscore webhook send`, the demo) sends, HubSpot's SDK validates
    ours = signed_headers(SECRET, "POST", sent, body, now)
    assert Signature.is_valid(
        ours["X-HubSpot-Signature-v3"],
        SECRET,
        body.decode(),
        http_uri=decoded,
        signature_version="v3",
        timestamp=ours["X-HubSpot-Request-Timestamp"],
    )
    # a signature over the still-encoded URI (what a naive verifier expects) is not HubSpot's
    naive = Signature.get_signature(SECRET, body.decode(), "v3", sent, "POST", timestamp)
    assert naive != by_hubspot


def test_an_unknown_account_is_refused_in_the_words_of_a_wrong_signature():
    body = _body([])
    headers = signed_headers(SECRET, "POST", URI, body, NOW)
    with pytest.raises(SignatureRefused) as unknown:
        verify(None, "POST", URI, body, headers, NOW)
    with pytest.raises(SignatureRefused) as wrong:
        verify("another", "POST", URI, body, headers, NOW)
    assert str(unknown.value) == str(wrong.value)


def _parse(items: object, account: str | None = "acme", portals=None) -> Batch:
    return parse_batch(_body(items), NOW, route_to(account, (portals or {}).get))


def test_native_events_and_hubspot_items_become_changes():
    items = [
        {
            "id": "e1",
            "type": "meeting_booked",
            "occurred_at": "2026-06-14T10:00:00Z",
            "object_type": "contacts",
            "object_id": "p1",
            "properties": {"outcome": "held"},
        },
        {
            "subscriptionType": "company.propertyChange",
            "objectId": 42,
            "occurredAt": 1781000000000,
            "eventId": 7,
            "propertyName": "plan",
            "propertyValue": "enterprise",
            "portalId": "acme",
        },
        {"subscriptionType": "contact.creation", "objectId": 5, "occurredAt": 1781000000000},
        {"subscriptionType": "ticket.deletion", "objectId": "t9", "occurredAt": 1781000000001},
        {
            "subscriptionType": "contact.merge",
            "primaryObjectId": 5,
            "mergedObjectIds": [6, 7],
            "occurredAt": 1781000000002,
            "eventId": 9,
        },
        {
            "subscriptionType": "contact.associationChange",
            "associationType": "CONTACT_TO_COMPANY",
            "fromObjectId": 5,
            "toObjectId": 42,
            "associationRemoved": False,
            "isPrimaryAssociation": True,
            "associationLabels": ["Champion"],
            "occurredAt": 1781000000003,
        },
        {
            "subscriptionType": "object.propertyChange",
            "objectTypeId": "2-123",
            "objectId": 1,
            "propertyName": "tier",
            "propertyValue": "gold",
            "occurredAt": 1781000000000,
        },
        {
            "subscriptionType": "object.associationChange",
            "fromObjectTypeId": "0-3",
            "toObjectTypeId": "0-2",
            "fromObjectId": 8,
            "toObjectId": 42,
            "associationRemoved": True,
            "occurredAt": 1781000000004,
            "eventId": 11,
        },
    ]
    batch = _parse(items)
    assert batch.skipped == []
    assert {account for account, _ in batch.changes} == {"acme"}
    changes = [change for _, change in batch.changes]
    assert isinstance(changes[0], EventArrived)
    assert changes[0].event.object_id == "p1"
    assert changes[1] == PropertiesChanged(
        "companies", "42", {"plan": "enterprise"}, 1781000000000, change_id="7"
    )
    assert changes[2] == PropertiesChanged("contacts", "5", {}, 1781000000000, created=True)
    assert changes[3] == RecordDeleted("tickets", "t9", 1781000000001)
    assert changes[4] == RecordsMerged("contacts", "5", ("6", "7"), 1781000000002, "9")
    assert isinstance(changes[5], AssociationChanged)
    assert changes[5].line.labels == ("Champion", "Primary")
    assert (changes[5].line.from_type, changes[5].line.to_type) == ("contacts", "companies")
    assert changes[5].occurred_at_ms == 1781000000003
    assert isinstance(changes[6], PropertiesChanged)
    assert changes[6].object_type == "custom:2-123"
    assert changes[7] == AssociationChanged(
        AssociationLine("deals", "8", "companies", "42"), True, 1781000000004, "11"
    )
    # each is encoded once, and survives the queue
    assert [decode_change(m).change for m in batch.messages] == changes
    assert all(decode_change(m).account_id == "acme" for m in batch.messages)
    assert batch.reply() == {"accepted": 8, "skipped": []}


GOOD = {"subscriptionType": "contact.creation", "objectId": 1, "occurredAt": 1781000000000}


def _hs(**fields: object) -> dict[str, object]:
    return {**GOOD, **fields}


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        # kinds healthscore does not read
        (_hs(subscriptionType="line_item.creation"), "[0].subscriptionType: 'line_item.creation'"),
        (_hs(subscriptionType="product.propertyChange"), "[0].subscriptionType"),
        (_hs(subscriptionType="conversation.newMessage"), "[0].subscriptionType"),
        (_hs(subscriptionType="event.completed"), "[0].subscriptionType"),
        (_hs(subscriptionType="contact.somethingNew"), "not a change healthscore reads"),
        (
            _hs(
                subscriptionType="deal.associationChange",
                associationType="DEAL_TO_LINE_ITEM",
                fromObjectId=1,
                toObjectId=2,
            ),
            "[0].associationType: 'DEAL_TO_LINE_ITEM'",
        ),
        (
            _hs(
                subscriptionType="company.associationChange",
                associationType="PARENT_TO_CHILD_COMPANY",
                fromObjectId=1,
                toObjectId=2,
            ),
            "[0].associationType",
        ),
        (
            _hs(
                subscriptionType="object.associationChange",
                fromObjectTypeId="0-3",
                toObjectTypeId="0-8",
                fromObjectId=1,
                toObjectId=2,
            ),
            "[0].toObjectTypeId: '0-8'",
        ),
        (
            _hs(subscriptionType="object.creation", objectTypeId="0-7"),
            "[0].objectTypeId: '0-7'",
        ),
        # items that could never be stored
        (_hs(objectId=int("9" * 4000)), "has 4000 digits"),
        (_hs(objectId="x" * 600), "[0].objectId: 600 bytes"),
        (_hs(subscriptionType="object.creation", objectTypeId="2-" + "1" * 3000), "objectTypeId"),
        (
            _hs(subscriptionType="contact.propertyChange", propertyName="n", propertyValue=0),
            "SENTINEL-NAN",
        ),
        (
            _hs(
                subscriptionType="contact.propertyChange",
                propertyName="notes",
                propertyValue="x" * 70_000,
            ),
            "[0].propertyValue: notes: 70002 bytes",
        ),
        (_hs(occurredAt=-62135596800000), "[0].occurredAt: before 1970"),
        (
            _hs(occurredAt=int(NOW.timestamp() * 1000) + 2 * 86_400_000),
            "[0].occurredAt: more than a day in the future",
        ),
        (
            _hs(subscriptionType="contact.merge", primaryObjectId=1, mergedObjectIds=[{"id": 2}]),
            "[0].mergedObjectIds: must be a non-empty list of object ids",
        ),
        (_hs(subscriptionType="contact.merge", primaryObjectId=1), "[0].mergedObjectIds"),
        (_hs(subscriptionType="contact.propertyChange"), "[0].propertyName: required"),
        ({"id": "e", "type": "x", "object_type": "contacts", "object_id": "p"}, "occurred_at"),
        (
            {
                "id": "e",
                "type": "x",
                "occurred_at": "0001-01-01T00:00:00Z",
                "object_type": "contacts",
                "object_id": "p",
            },
            "[0].occurred_at: before 1970",
        ),
        (
            {
                "id": "e",
                "type": "x",
                "occurred_at": "2026-06-17T12:00:00Z",
                "object_type": "contacts",
                "object_id": "p",
            },
            "[0].occurred_at: more than a day in the future",
        ),
        (7, "[0]: must be an object"),
        (_hs(portalId=99), "[0].portalId: 99 is not a portal of account 'acme'"),
    ],
)
def test_an_item_that_cannot_be_taken_is_skipped_with_its_reason_and_the_rest_accepted(
    item, reason
):
    good = {**GOOD, "objectId": 2}
    raw = _body([item, good])
    if reason == "SENTINEL-NAN":  # json.dumps writes NaN; HubSpot's own JSON never does
        raw = raw.replace(b'"propertyValue": 0', b'"propertyValue": NaN')
        reason = "[0].propertyValue: NaN is not a finite JSON number"
    batch = parse_batch(raw, NOW, route_to("acme", {}.get))
    assert [index for index, _ in batch.skipped] == [0]
    assert batch.skipped[0][1].startswith(reason) or reason in batch.skipped[0][1]
    assert [change for _, change in batch.changes] == [
        PropertiesChanged("contacts", "2", {}, 1781000000000, created=True)
    ]
    assert len(batch.messages) == 1


def test_non_finite_numbers_anywhere_in_an_item_skip_it():
    raw = (
        b'[{"id":"e","type":"x","occurred_at":"2026-06-14T10:00:00Z","object_type":"contacts",'
        b'"object_id":"p","properties":{"score":Infinity,"ok":1e999}}]'
    )
    batch = parse_batch(raw, NOW, route_to("acme", {}.get))
    assert batch.changes == []
    assert batch.skipped == [(0, "[0].properties.score: Infinity is not a finite JSON number")]


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        (b'{"not": "a list"}', 400, "body: must be a JSON array"),
        (b"[1, 2", 400, "body: not JSON"),
        (b"[" * 100_000, 400, "body: not JSON"),  # nested too deep to parse
        (_body([GOOD] * 501), 413, "body: 501 items"),
        (b" " * (MAX_BODY_BYTES + 1), 413, "body:"),
    ],
)
def test_only_a_body_that_is_not_a_batch_or_is_too_big_refuses_the_batch(body, status, where):
    with pytest.raises(WebhookRefused) as refused:
        parse_batch(body, NOW, route_to("acme", {}.get))
    assert refused.value.status == status
    assert refused.value.message.startswith(where)


@pytest.mark.parametrize("account", ["", "a#b", "x" * 65])
def test_the_account_parameter_must_be_an_account_id(account):
    with pytest.raises(WebhookRefused, match="account"):
        check_account(account)


def test_one_target_url_routes_each_item_to_its_portals_account():
    portals = {"111": "acme", "222": "globex"}
    items = [
        _hs(portalId=111, objectId=1),
        _hs(portalId=222, objectId=2),
        _hs(portalId=333, objectId=3),
        {**GOOD, "objectId": 4},  # no portalId on the app's URL: nowhere to go
    ]
    batch = _parse(items, account=None, portals=portals)
    assert [(a, c.id) for a, c in batch.changes] == [("acme", "1"), ("globex", "2")]
    assert [decode_change(m).account_id for m in batch.messages] == ["acme", "globex"]
    assert batch.reply()["skipped"] == [
        {"index": 2, "reason": "[2].portalId: 333 is not registered to an account"},
        {"index": 3, "reason": "[3].portalId: required when the URL has no ?account="},
    ]
    # with ?account=, a portal registered to that account is taken too, another's is not
    batch = _parse(items[:2], account="acme", portals=portals)
    assert [(a, c.id) for a, c in batch.changes] == [("acme", "1")]
    assert batch.skipped[0][0] == 1


def test_a_change_too_large_for_one_queue_message_is_skipped_naming_it() -> None:
    big = {
        "id": "e2",
        "type": "meeting_booked",
        "occurred_at": "2026-06-01T10:00:00Z",
        "object_type": "contacts",
        "object_id": "p1",
        "properties": {f"p{i}": "x" * 60_000 for i in range(5)},  # each value fits; all do not
    }
    small = {**big, "id": "e1", "properties": {}}
    batch = _parse([small, big])
    assert [c.event.id for _, c in batch.changes] == ["e1"]
    assert batch.skipped == [(1, "[1]: larger than 250000 bytes as a change")]
