"""Webhooks in: HubSpot v3 signatures, and batches parsed once into typed changes (the changes
queue carries them, domain/change_messages.py is its codec).

A batch is a JSON array mixing native events (`{"id","type","occurred_at","object_type",
"object_id","properties"}`) and HubSpot-style items (`subscriptionType`, `objectId`,
`occurredAt`, `eventId`, `propertyName`, `propertyValue`, …). It is accepted whole or refused
whole — a refused batch stores nothing, so the sender can fix it and send it again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from healthscore.adapters.dataset_files import RowError, parse_event
from healthscore.domain.change_messages import encode_change
from healthscore.domain.changes import (
    AssociationChanged,
    Change,
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
    RecordsMerged,
)
from healthscore.domain.dataset import AssociationLine

MAX_BODY_BYTES = 1_000_000  # a HubSpot batch of 100 is far smaller; API Gateway allows 10 MB
MAX_ITEMS = 500
MAX_MESSAGE_BYTES = 250_000  # an SQS message holds 256 KiB
SIGNATURE_MAX_AGE = timedelta(minutes=5)
FUTURE_LIMIT = timedelta(days=1)
ACCOUNT = re.compile(r"[A-Za-z0-9_\-]{1,64}")  # as in tokens' account_id claims

# HubSpot object type names and ids → record object types.
OBJECT_TYPES = {
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
    "ticket": "tickets",
    "0-1": "contacts",
    "0-2": "companies",
    "0-3": "deals",
    "0-5": "tickets",
}


class WebhookRefused(Exception):
    """The request is refused with an HTTP status and a message naming what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- signatures ----------------------------------------------------------------------------------


def signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot v3: base64(HMAC-SHA256(secret, method + uri + body + timestamp))."""
    message = method.upper().encode() + uri.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(secret: str, method: str, uri: str, body: bytes, at: datetime) -> dict[str, str]:
    """The headers a sender adds (the demo, tests and `healthscore webhook send` use this)."""
    timestamp = str(int(at.timestamp() * 1000))
    return {
        "X-HubSpot-Signature-v3": signature(secret, method, uri, body, timestamp),
        "X-HubSpot-Request-Timestamp": timestamp,
        "content-type": "application/json",
    }


def verify(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
) -> None:
    """Refuse (401) a missing, stale or wrong signature; compared in constant time."""
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get("x-hubspot-signature-v3")
    timestamp = lowered.get("x-hubspot-request-timestamp")
    if not given or not timestamp:
        raise WebhookRefused(
            401, "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp headers are required"
        )
    try:
        sent_at = datetime.fromtimestamp(int(timestamp) / 1000, UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise WebhookRefused(
            401, "X-HubSpot-Request-Timestamp must be epoch milliseconds"
        ) from error
    if abs(now - sent_at) > SIGNATURE_MAX_AGE:
        raise WebhookRefused(
            401, "X-HubSpot-Request-Timestamp is more than 5 minutes away from now: sign again"
        )
    expected = signature(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise WebhookRefused(401, "X-HubSpot-Signature-v3 does not match the request")


def check_account(account: str | None) -> str:
    if not account or not ACCOUNT.fullmatch(account):
        raise WebhookRefused(
            400, "query parameter account: required, 1–64 letters, digits, '-' or '_'"
        )
    return account


# -- batches -------------------------------------------------------------------------------------


def parse_batch(body: bytes, account: str, now: datetime) -> list[Change]:
    """Every item of the batch as a change; WebhookRefused (400/403/413) names the first bad
    item."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRefused(
            413, f"body: {len(body)} bytes; the most a batch may be is {MAX_BODY_BYTES}"
        )
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise WebhookRefused(400, f"body: not JSON ({error})") from error
    if not isinstance(items, list):
        raise WebhookRefused(400, "body: must be a JSON array of events or webhook items")
    if len(items) > MAX_ITEMS:
        raise WebhookRefused(
            413, f"body: {len(items)} items; the most a batch may hold is {MAX_ITEMS}"
        )
    changes: list[Change] = []
    for index, item in enumerate(items):
        where = f"[{index}]"
        if not isinstance(item, dict):
            raise WebhookRefused(400, f"{where}: must be an object")
        if "subscriptionType" in item:
            change = _hubspot(item, where, account)
        else:
            try:
                change = EventArrived(parse_event(item))
            except RowError as error:
                raise WebhookRefused(400, f"{where}.{error.field}: {error.message}") from error
        _not_in_future(change, where, now)
        changes.append(change)
    return changes


def queue_messages(account: str, changes: Sequence[Change]) -> list[str]:
    """Each change encoded once as the changes queue's message; an item too large for one SQS
    message refuses the whole batch (413, naming the item)."""
    messages = [encode_change(account, change) for change in changes]
    for index, message in enumerate(messages):
        if len(message) > MAX_MESSAGE_BYTES:
            raise WebhookRefused(413, f"[{index}]: larger than {MAX_MESSAGE_BYTES} bytes")
    return messages


def _not_in_future(change: Change, where: str, now: datetime) -> None:
    if isinstance(change, EventArrived) and change.event.occurred_at > now + FUTURE_LIMIT:
        raise WebhookRefused(
            400, f"{where}.occurred_at: more than a day in the future; check the sender's clock"
        )
    limit_ms = (now + FUTURE_LIMIT).timestamp() * 1000
    if isinstance(change, PropertiesChanged) and change.occurred_at_ms > limit_ms:
        raise WebhookRefused(400, f"{where}.occurredAt: more than a day in the future")


def _field(item: dict[str, Any], name: str, where: str, kinds: tuple[type, ...]) -> Any:
    value = item.get(name)
    if value is None or isinstance(value, bool) or not isinstance(value, kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise WebhookRefused(400, f"{where}.{name}: required ({expected})")
    return value


def _id(item: dict[str, Any], name: str, where: str) -> str:
    return str(_field(item, name, where, (int, str)))


def _hubspot(item: dict[str, Any], where: str, account: str) -> Change:
    subscription = _field(item, "subscriptionType", where, (str,))
    portal = item.get("portalId")
    if portal is not None and str(portal) != account:
        raise WebhookRefused(
            403, f"{where}.portalId: {portal} is not account {account!r}; nothing was stored"
        )
    prefix, _, action = subscription.partition(".")
    if prefix == "object":
        object_type = OBJECT_TYPES.get(str(item.get("objectTypeId")))
        if object_type is None:
            type_id = _id(item, "objectTypeId", where)
            object_type = f"custom:{type_id}"
    else:
        object_type = OBJECT_TYPES.get(prefix)
        if object_type is None:
            raise WebhookRefused(
                400,
                f"{where}.subscriptionType: {subscription!r} is not a subscription type "
                "healthscore reads (contact, company, deal, ticket or object .creation, "
                ".propertyChange, .deletion, .merge, .associationChange, .restore)",
            )
    occurred = _field(item, "occurredAt", where, (int,))
    if action in ("creation", "restore"):
        return PropertiesChanged(
            object_type, _id(item, "objectId", where), {}, occurred, created=True
        )
    if action == "propertyChange":
        name = _field(item, "propertyName", where, (str,))
        value = item.get("propertyValue")
        return PropertiesChanged(object_type, _id(item, "objectId", where), {name: value}, occurred)
    if action in ("deletion", "privacyDeletion"):
        return RecordDeleted(object_type, _id(item, "objectId", where))
    if action == "merge":
        merged = _field(item, "mergedObjectIds", where, (list,))
        primary = _id(item, "primaryObjectId", where)
        return RecordsMerged(object_type, primary, tuple(str(m) for m in merged))
    if action == "associationChange":
        kind = _field(item, "associationType", where, (str,))
        ends = kind.lower().split("_to_")
        if len(ends) != 2 or any(e not in OBJECT_TYPES for e in ends):
            raise WebhookRefused(
                400, f"{where}.associationType: {kind!r} is not <OBJECT>_TO_<OBJECT>"
            )
        labels = item.get("associationLabels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise WebhookRefused(400, f"{where}.associationLabels: must be a list of text")
        if item.get("isPrimaryAssociation"):
            labels = [*labels, "Primary"]
        line = AssociationLine(
            OBJECT_TYPES[ends[0]],
            _id(item, "fromObjectId", where),
            OBJECT_TYPES[ends[1]],
            _id(item, "toObjectId", where),
            tuple(sorted(set(labels))),
        )
        return AssociationChanged(line, removed=bool(item.get("associationRemoved")))
    raise WebhookRefused(
        400,
        f"{where}.subscriptionType: {subscription!r}: healthscore reads .creation, "
        ".propertyChange, .deletion, .merge, .associationChange and .restore",
    )
