"""Webhooks in: HubSpot v3 signatures, batch parsing into changes, and queue messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from healthscore.adapters.webhooks import (
    MAX_BODY_BYTES,
    WebhookRefused,
    check_account,
    parse_batch,
    queue_messages,
    signed_headers,
    verify,
)
from healthscore.domain.change_messages import decode_change, encode_change
from healthscore.domain.changes import (
    AssociationChanged,
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
    RecordsMerged,
)

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
    with pytest.raises(WebhookRefused) as refused:
        verify(SECRET, "POST", URI, sent, headers, NOW)
    assert refused.value.status == 401
    assert message in refused.value.message


def test_a_signature_older_than_five_minutes_is_refused_as_a_replay():
    body = _body([])
    headers = signed_headers(SECRET, "POST", URI, body, NOW - timedelta(minutes=6))
    with pytest.raises(WebhookRefused, match="more than 5 minutes") as refused:
        verify(SECRET, "POST", URI, body, headers, NOW)
    assert refused.value.status == 401


def test_another_accounts_secret_or_url_does_not_verify():
    body = _body([])
    headers = signed_headers("other-secret", "POST", URI, body, NOW)
    with pytest.raises(WebhookRefused):
        verify(SECRET, "POST", URI, body, headers, NOW)
    signed_for_b = signed_headers(SECRET, "POST", URI.replace("acme", "b"), body, NOW)
    with pytest.raises(WebhookRefused):
        verify(SECRET, "POST", URI, body, signed_for_b, NOW)


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
        {"subscriptionType": "ticket.deletion", "objectId": "t9", "occurredAt": 1781000000000},
        {
            "subscriptionType": "contact.merge",
            "primaryObjectId": 5,
            "mergedObjectIds": [6, 7],
            "occurredAt": 1781000000000,
        },
        {
            "subscriptionType": "contact.associationChange",
            "associationType": "CONTACT_TO_COMPANY",
            "fromObjectId": 5,
            "toObjectId": 42,
            "associationRemoved": False,
            "isPrimaryAssociation": True,
            "associationLabels": ["Champion"],
            "occurredAt": 1781000000000,
        },
        {
            "subscriptionType": "object.propertyChange",
            "objectTypeId": "2-123",
            "objectId": 1,
            "propertyName": "tier",
            "propertyValue": "gold",
            "occurredAt": 1781000000000,
        },
    ]
    changes = parse_batch(_body(items), "acme", NOW)
    assert isinstance(changes[0], EventArrived)
    assert changes[0].event.object_id == "p1"
    assert changes[1] == PropertiesChanged("companies", "42", {"plan": "enterprise"}, 1781000000000)
    assert changes[2] == PropertiesChanged("contacts", "5", {}, 1781000000000, created=True)
    assert changes[3] == RecordDeleted("tickets", "t9")
    assert changes[4] == RecordsMerged("contacts", "5", ("6", "7"))
    assert isinstance(changes[5], AssociationChanged)
    assert changes[5].line.labels == ("Champion", "Primary")
    assert (changes[5].line.from_type, changes[5].line.to_type) == ("contacts", "companies")
    assert isinstance(changes[6], PropertiesChanged)
    assert changes[6].object_type == "custom:2-123"
    for change in changes:  # and each survives the queue
        assert decode_change(encode_change("acme", change)).change == change


@pytest.mark.parametrize(
    ("items", "status", "where"),
    [
        (
            [{"id": "e1", "type": "x", "object_type": "contacts", "object_id": "p"}],
            400,
            "[0].occurred_at",
        ),
        ([{}, {"subscriptionType": "contact.propertyChange", "objectId": 1}], 400, "[0].type"),
        (
            [{"subscriptionType": "contact.propertyChange", "objectId": 1, "occurredAt": 1}],
            400,
            "[0].propertyName",
        ),
        (
            [{"subscriptionType": "meeting.creation", "objectId": 1, "occurredAt": 1}],
            400,
            "[0].subscriptionType",
        ),
        (
            [
                {
                    "subscriptionType": "contact.creation",
                    "objectId": 1,
                    "occurredAt": 1,
                    "portalId": 99,
                }
            ],
            403,
            "[0].portalId",
        ),
        (
            [
                {
                    "id": "e1",
                    "type": "x",
                    "occurred_at": "2026-06-17T12:00:00Z",
                    "object_type": "contacts",
                    "object_id": "p",
                }
            ],
            400,
            "[0].occurred_at: more than a day in the future",
        ),
        ({"not": "a list"}, 400, "body"),
        ([7], 400, "[0]: must be an object"),
    ],
)
def test_a_bad_item_refuses_the_whole_batch_naming_it(items, status, where):
    with pytest.raises(WebhookRefused) as refused:
        parse_batch(_body(items), "acme", NOW)
    assert refused.value.status == status
    assert where in refused.value.message


def test_a_body_over_the_documented_size_is_413():
    with pytest.raises(WebhookRefused) as refused:
        parse_batch(b" " * (MAX_BODY_BYTES + 1), "acme", NOW)
    assert refused.value.status == 413


@pytest.mark.parametrize("account", [None, "", "a#b", "x" * 65])
def test_the_account_parameter_must_be_an_account_id(account):
    with pytest.raises(WebhookRefused, match="account"):
        check_account(account)


def test_a_change_too_large_for_one_queue_message_refuses_the_batch_naming_it() -> None:
    # Given a batch whose second event carries ~300 KB of properties
    items = [
        {
            "id": "e1",
            "type": "meeting_booked",
            "occurred_at": "2026-06-01T10:00:00Z",
            "object_type": "contacts",
            "object_id": "p1",
            "properties": {},
        },
        {
            "id": "e2",
            "type": "meeting_booked",
            "occurred_at": "2026-06-01T10:00:00Z",
            "object_type": "contacts",
            "object_id": "p1",
            "properties": {"notes": "x" * 300_000},
        },
    ]
    changes = parse_batch(_body(items), "acme", NOW)
    # When its queue messages are made Then the whole batch is refused with 413 at [1]
    with pytest.raises(WebhookRefused) as refused:
        queue_messages("acme", changes)
    assert refused.value.status == 413
    assert refused.value.message.startswith("[1]: larger than")
    # and a batch of small items encodes one message per change, each decoding back to it
    small = queue_messages("acme", changes[:1])
    assert [decode_change(m).change for m in small] == changes[:1]
