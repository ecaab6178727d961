"""The changes queue's codec: one JSON message per change, written by the webhook and the records
API's senders, read by the scorer. Every change kind round-trips exactly; a message written
before a field existed decodes with that field's default."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from healthscore.domain.changes import (
    AssociationChanged,
    Change,
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
    RecordsMerged,
    UpstreamChanged,
)
from healthscore.domain.dataset import AssociationLine, Event


@dataclass(frozen=True)
class ChangeMessage:
    """One message of the changes queue: a change to one account's data."""

    account_id: str
    change: Change


def encode_change(account: str, change: Change) -> str:
    """The message body (JSON text) the changes queue carries for `change`."""
    body: dict[str, Any]
    if isinstance(change, EventArrived):
        e = change.event
        body = {
            "kind": "event",
            "id": e.id,
            "type": e.type,
            "occurred_at": e.occurred_at.isoformat(),
            "object_type": e.object_type,
            "object_id": e.object_id,
            "properties": dict(e.properties),
        }
    elif isinstance(change, PropertiesChanged):
        body = {
            "kind": "properties",
            "object_type": change.object_type,
            "id": change.id,
            "properties": dict(change.properties),
            "occurred_at_ms": change.occurred_at_ms,
            "lists": None if change.lists is None else sorted(change.lists),
            "replace": change.replace,
            "created": change.created,
            "change_id": change.change_id,
        }
    elif isinstance(change, RecordDeleted):
        body = {
            "kind": "deletion",
            "object_type": change.object_type,
            "id": change.id,
            "occurred_at_ms": change.occurred_at_ms,
            "change_id": change.change_id,
            "merged_into": change.merged_into,
        }
    elif isinstance(change, RecordsMerged):
        body = {
            "kind": "merge",
            "object_type": change.object_type,
            "primary": change.primary,
            "merged": list(change.merged),
            "occurred_at_ms": change.occurred_at_ms,
            "change_id": change.change_id,
        }
    elif isinstance(change, UpstreamChanged):
        body = {
            "kind": "upstream",
            "definition_id": change.definition_id,
            "object_type": change.object_type,
            "id": change.id,
            "occurred_at_ms": change.occurred_at_ms,
            "change_id": change.change_id,
            "name": change.name,
            "moved": change.moved,
        }
    else:
        line = change.line
        body = {
            "kind": "association",
            "from_type": line.from_type,
            "from_id": line.from_id,
            "to_type": line.to_type,
            "to_id": line.to_id,
            "labels": list(line.labels),
            "removed": change.removed,
            "occurred_at_ms": change.occurred_at_ms,
            "change_id": change.change_id,
        }
    return json.dumps({"account_id": account, "change": body})


def decode_change(text: str) -> ChangeMessage:
    """The change a message body carries (what `encode_change` wrote)."""
    message = json.loads(text)
    body = dict(message["change"])
    kind = body.pop("kind")
    change: Change
    if kind == "event":
        change = EventArrived(
            Event(
                body["id"],
                body["type"],
                datetime.fromisoformat(body["occurred_at"]),
                body["object_type"],
                body["object_id"],
                body["properties"],
            )
        )
    elif kind == "properties":
        lists = body.pop("lists")
        change = PropertiesChanged(**body, lists=None if lists is None else frozenset(lists))
    elif kind == "deletion":
        change = RecordDeleted(**body)
    elif kind == "merge":
        body["merged"] = tuple(body["merged"])
        change = RecordsMerged(**body)
    elif kind == "upstream":
        change = UpstreamChanged(**body)
    elif kind == "association":
        removed = body.pop("removed")
        when, change_id = body.pop("occurred_at_ms", 0), body.pop("change_id", "")
        body["labels"] = tuple(body["labels"])
        change = AssociationChanged(AssociationLine(**body), removed, when, change_id)
    else:
        raise ValueError(f"unknown change kind {kind!r}")
    return ChangeMessage(str(message["account_id"]), change)
