"""Webhook batches parsed once into typed changes, each routed to its account and encoded once
as the changes queue's message (domain/change_messages.py is the codec).

A batch is a JSON array mixing native events (`{"id","type","occurred_at","object_type",
"object_id","properties"}`) and HubSpot items (`subscriptionType`, `objectId`, `occurredAt`,
`eventId`, `portalId`, `propertyName`, `propertyValue`, …). Only the batch as a whole can be
refused (`WebhookRefused`: not a JSON array, or over the size limits); an item of a kind
healthscore does not read (another object or subscription type, another association type), an
item that is malformed, or one that could never be stored (an id over 512 bytes, a property
value over 64 KB, a number that is not finite, a date before 1970 or more than a day ahead) is
skipped with its reason and the rest are accepted — HubSpot does not resend a batch it got a 4xx
for, so refusing it would lose the good items with the bad.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
MAX_ID_BYTES = 512  # DynamoDB keys hold 2,048 bytes; ids are parts of several
MAX_VALUE_BYTES = 65_536
FUTURE_LIMIT = timedelta(days=1)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
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
CUSTOM_TYPE_ID = re.compile(r"2-[0-9]{1,20}")
ACTIONS = ("creation", "restore", "propertyChange", "deletion", "privacyDeletion", "merge")
READ = "contact, company, deal, ticket and custom object (object.*) changes"


class WebhookRefused(Exception):
    """The whole request is refused with an HTTP status and a message naming what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Skip(Exception):
    """One item is not taken: `where` names the field, `message` the reason."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.reason = f"{where}: {message}"


Router = Callable[[str | None, str], str]
"""(the item's portalId or None, where) → the account it belongs to, or raise Skip."""


@dataclass
class Batch:
    """What a batch brings: the changes taken (with their queue messages) and the items skipped."""

    changes: list[tuple[str, Change]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def reply(self) -> dict[str, Any]:
        return {
            "accepted": len(self.changes),
            "skipped": [{"index": i, "reason": reason} for i, reason in self.skipped],
        }


def check_account(account: str | None) -> str:
    if not account or not ACCOUNT.fullmatch(account):
        raise WebhookRefused(
            400, "query parameter account: required, 1–64 letters, digits, '-' or '_'"
        )
    return account


def route_to(account: str | None, portal_account: Callable[[str], str | None]) -> Router:
    """How items find their account: with `?account=` every item is that account's (an item
    naming a portal must name that account or a portal registered to it); without, each item's
    `portalId` must be a registered portal (a public app's one target URL)."""

    def route(portal: str | None, where: str) -> str:
        if account is not None:
            if portal is None or portal == account or portal_account(portal) == account:
                return account
            raise Skip(f"{where}.portalId", f"{portal} is not a portal of account {account!r}")
        if portal is None:
            raise Skip(f"{where}.portalId", "required when the URL has no ?account=")
        found = portal_account(portal)
        if found is None:
            raise Skip(f"{where}.portalId", f"{portal} is not registered to an account")
        return found

    return route


def parse_batch(body: bytes, now: datetime, route: Router) -> Batch:
    """Every item of the batch taken as a change or skipped with its reason."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRefused(
            413, f"body: {len(body)} bytes; the most a batch may be is {MAX_BODY_BYTES}"
        )
    try:
        items = json.loads(
            body,
            parse_constant=lambda text: _Unstorable(text, "is not a finite JSON number"),
            parse_float=_float,
            parse_int=_int,
        )
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise WebhookRefused(400, f"body: not JSON ({error})") from error
    if not isinstance(items, list):
        raise WebhookRefused(400, "body: must be a JSON array of events or webhook items")
    if len(items) > MAX_ITEMS:
        raise WebhookRefused(
            413, f"body: {len(items)} items; the most a batch may hold is {MAX_ITEMS}"
        )
    batch = Batch()
    for index, item in enumerate(items):
        try:
            account, change, message = _take(item, f"[{index}]", now, route)
        except Skip as skip:
            batch.skipped.append((index, skip.reason))
            continue
        batch.changes.append((account, change))
        batch.messages.append(message)
    return batch


def _take(item: Any, where: str, now: datetime, route: Router) -> tuple[str, Change, str]:
    if not isinstance(item, dict):
        raise Skip(where, "must be an object")
    _finite(item, where)
    portal = item.get("portalId")
    account = route(None if portal is None else str(portal), where)
    if "subscriptionType" in item:
        change = _hubspot(item, where, now)
    else:
        try:
            event = parse_event(item)
        except RowError as error:
            raise Skip(f"{where}.{error.field}", error.message) from error
        for name in ("id", "object_id", "type", "object_type"):
            _fits(str(item.get(name)), f"{where}.{name}")
        _in_range(event.occurred_at, f"{where}.occurred_at", now)
        _values_fit(event.properties, f"{where}.properties")
        change = EventArrived(event)
    message = encode_change(account, change)
    if len(message.encode()) > MAX_MESSAGE_BYTES:
        raise Skip(where, f"larger than {MAX_MESSAGE_BYTES} bytes as a change")
    return account, change, message


def _hubspot(item: dict[str, Any], where: str, now: datetime) -> Change:
    subscription = _field(item, "subscriptionType", where, (str,))
    prefix, _, action = subscription.partition(".")
    if prefix not in OBJECT_TYPES and prefix != "object":
        raise Skip(f"{where}.subscriptionType", f"{subscription[:60]!r}: healthscore reads {READ}")
    if action not in (*ACTIONS, "associationChange"):
        raise Skip(f"{where}.subscriptionType", f"{subscription!r}: not a change healthscore reads")
    occurred = _field(item, "occurredAt", where, (int,))
    _in_range(_instant(occurred, f"{where}.occurredAt"), f"{where}.occurredAt", now)
    change_id = "" if item.get("eventId") is None else str(item["eventId"])
    _fits(change_id, f"{where}.eventId")
    if action == "associationChange":
        return _association(item, prefix, where, occurred, change_id)
    object_type = (
        _type_of_id(str(item.get("objectTypeId")), f"{where}.objectTypeId")
        if prefix == "object"
        else OBJECT_TYPES[prefix]
    )
    if action == "merge":
        primary = _id(item, "primaryObjectId", where)
        merged = item.get("mergedObjectIds")
        if (
            not isinstance(merged, list)
            or not merged
            or not all(isinstance(m, int | str) and not isinstance(m, bool) for m in merged)
        ):
            raise Skip(f"{where}.mergedObjectIds", "must be a non-empty list of object ids")
        for m in merged:
            _fits(str(m), f"{where}.mergedObjectIds")
        return RecordsMerged(
            object_type, primary, tuple(str(m) for m in merged), occurred, change_id
        )
    object_id = _id(item, "objectId", where)
    if action in ("creation", "restore"):
        return PropertiesChanged(
            object_type, object_id, {}, occurred, created=True, change_id=change_id
        )
    if action == "propertyChange":
        name = _field(item, "propertyName", where, (str,))
        _fits(name, f"{where}.propertyName")
        value = item.get("propertyValue")
        _values_fit({name: value}, f"{where}.propertyValue")
        return PropertiesChanged(
            object_type, object_id, {name: value}, occurred, change_id=change_id
        )
    return RecordDeleted(object_type, object_id, occurred, change_id)  # deletion, privacyDeletion


def _type_of_id(type_id: str, where: str) -> str:
    if type_id in OBJECT_TYPES:
        return OBJECT_TYPES[type_id]
    if CUSTOM_TYPE_ID.fullmatch(type_id):
        return f"custom:{type_id}"
    raise Skip(where, f"{type_id[:40]!r} is not a type healthscore reads ({READ})")


def _association(
    item: dict[str, Any], prefix: str, where: str, occurred: int, change_id: str
) -> AssociationChanged:
    if prefix == "object":  # generic webhooks name both ends' type ids
        ends = (
            _type_of_id(str(item.get("fromObjectTypeId")), f"{where}.fromObjectTypeId"),
            _type_of_id(str(item.get("toObjectTypeId")), f"{where}.toObjectTypeId"),
        )
    else:
        kind = _field(item, "associationType", where, (str,))
        names = kind.lower().split("_to_")
        if len(names) != 2 or any(n not in OBJECT_TYPES for n in names):
            raise Skip(f"{where}.associationType", f"{kind[:60]!r}: not a link healthscore reads")
        ends = (OBJECT_TYPES[names[0]], OBJECT_TYPES[names[1]])
    if ends[0] == ends[1]:
        raise Skip(where, f"links between two {ends[0]} are not read")
    labels = item.get("associationLabels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise Skip(f"{where}.associationLabels", "must be a list of text")
    for label in labels:
        _fits(label, f"{where}.associationLabels")
    if item.get("isPrimaryAssociation"):
        labels = [*labels, "Primary"]
    line = AssociationLine(
        ends[0],
        _id(item, "fromObjectId", where),
        ends[1],
        _id(item, "toObjectId", where),
        tuple(sorted(set(labels))),
    )
    removed = bool(item.get("associationRemoved"))
    return AssociationChanged(line, removed, occurred, change_id)


# -- field checks ----------------------------------------------------------------------------------


class _Unstorable:
    """What `NaN`, `Infinity`, an overflowing number or an integer of more than
    `MAX_DIGITS` digits parse to: never a value we store."""

    def __init__(self, text: str, why: str) -> None:
        self.text = text if len(text) <= 24 else f"{text[:20]}…"
        self.why = why


MAX_DIGITS = 600  # an id this long is refused anyway; Python refuses to parse 4,300 digits


def _float(text: str) -> float | _Unstorable:
    number = float(text)
    return number if math.isfinite(number) else _Unstorable(text, "is not a finite JSON number")


def _int(text: str) -> int | _Unstorable:
    if len(text) > MAX_DIGITS:
        return _Unstorable(text, f"has {len(text)} digits; numbers hold at most {MAX_DIGITS}")
    return int(text)


def _finite(value: Any, where: str) -> None:
    if isinstance(value, _Unstorable):
        raise Skip(where, f"{value.text} {value.why}")
    if isinstance(value, dict):
        for k, v in value.items():
            _finite(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite(v, f"{where}[{i}]")


def _field(item: dict[str, Any], name: str, where: str, kinds: tuple[type, ...]) -> Any:
    value = item.get(name)
    if value is None or isinstance(value, bool) or not isinstance(value, kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise Skip(f"{where}.{name}", f"required ({expected})")
    return value


def _id(item: dict[str, Any], name: str, where: str) -> str:
    value = str(_field(item, name, where, (int, str)))
    _fits(value, f"{where}.{name}")
    return value


def _fits(text: str, where: str) -> None:
    if len(text.encode()) > MAX_ID_BYTES:
        raise Skip(where, f"{len(text.encode())} bytes; ids and names hold at most {MAX_ID_BYTES}")


def _values_fit(values: Mapping[str, Any], where: str) -> None:
    for name, value in values.items():
        size = len(json.dumps(value).encode())
        if size > MAX_VALUE_BYTES:
            raise Skip(where, f"{name}: {size} bytes; a value holds at most {MAX_VALUE_BYTES}")


def _instant(milliseconds: int, where: str) -> datetime:
    try:
        return datetime.fromtimestamp(milliseconds / 1000, UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise Skip(where, f"{milliseconds} is not epoch milliseconds") from error


def _in_range(moment: datetime, where: str, now: datetime) -> None:
    if moment < EARLIEST:
        raise Skip(where, "before 1970: check the sender's clock")
    if moment > now + FUTURE_LIMIT:
        raise Skip(where, "more than a day in the future: check the sender's clock")
