"""What can happen to an account's data, as the incremental scorer sees it.

Webhooks (native events and HubSpot-style batches) and the records API are turned into these;
each is applied on its own, idempotently: applying one twice leaves the same state as once.
Every change but an event carries when it happened (`occurred_at_ms`, epoch milliseconds) and
its own id (`change_id`: HubSpot's `eventId`, else empty): facts are decided by the latest change,
ties by the id (see `order_key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from healthscore.domain.dataset import AssociationLine, Event, RecordKey


@dataclass(frozen=True, slots=True)
class EventArrived:
    """A tracked event; stored once per (owner, id)."""

    event: Event

    @property
    def summary(self) -> str:
        e = self.event
        return f"{e.type} {e.id} of {e.object_type}/{e.object_id}"


@dataclass(frozen=True, slots=True)
class PropertiesChanged:
    """Property values set on a record (a creation is this with `created`).

    `replace` (the records API's upsert) replaces all properties and the lists; otherwise only
    the named properties change, each only if `occurred_at_ms` is not older than the change that
    last set it — so webhooks arriving out of order still leave the latest value. A value of
    None removes the property."""

    object_type: str
    id: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    occurred_at_ms: int = 0
    lists: frozenset[str] | None = None
    replace: bool = False
    created: bool = False
    change_id: str = ""

    @property
    def key(self) -> RecordKey:
        return (self.object_type, self.id)

    @property
    def summary(self) -> str:
        names = ", ".join(sorted(self.properties)) or "no properties"
        verb = "created" if self.created else "changed"
        return f"{self.object_type}/{self.id} {verb}: {names}"


@dataclass(frozen=True, slots=True)
class RecordDeleted:
    """The record and its associations go, leaving a tombstone (its events are kept and count
    again if it comes back); scores that counted it are rescored. `merged_into`: the losing side
    of a merge, whose later events belong to that record."""

    object_type: str
    id: str
    occurred_at_ms: int = 0
    change_id: str = ""
    merged_into: str | None = None

    @property
    def key(self) -> RecordKey:
        return (self.object_type, self.id)

    @property
    def summary(self) -> str:
        return f"{self.object_type}/{self.id} deleted"


@dataclass(frozen=True, slots=True)
class RecordsMerged:
    """`merged` records fold into `primary`: their associations and events move to it, then
    they are deleted (HubSpot's merge)."""

    object_type: str
    primary: str
    merged: tuple[str, ...]
    occurred_at_ms: int = 0
    change_id: str = ""

    @property
    def summary(self) -> str:
        return f"{self.object_type}/{', '.join(self.merged)} merged into {self.primary}"


@dataclass(frozen=True, slots=True)
class AssociationChanged:
    """A link set to exactly `line.labels` (added, or its labels changed), or removed."""

    line: AssociationLine
    removed: bool = False
    occurred_at_ms: int = 0
    change_id: str = ""

    @property
    def summary(self) -> str:
        line = self.line
        ends = f"{line.from_type}/{line.from_id} – {line.to_type}/{line.to_id}"
        if self.removed:
            return f"association {ends} removed"
        labels = ", ".join(line.labels) or "no labels"
        return f"association {ends} set ({labels})"


@dataclass(frozen=True, slots=True)
class UpstreamChanged:
    """Another score's output moved on a record (its history entry, `change_id`): the scores
    that read that output in their segments or rules are rescored for the record, from its
    outputs as they are now (so a late or repeated one changes nothing)."""

    definition_id: str
    object_type: str
    id: str
    occurred_at_ms: int = 0
    change_id: str = ""
    name: str = ""  # the upstream score's name, for the history cause
    moved: str = ""  # what moved, e.g. "At-risk → Healthy"

    @property
    def key(self) -> RecordKey:
        return (self.object_type, self.id)

    @property
    def summary(self) -> str:
        return f"{self.object_type}/{self.id}: {self.name or self.definition_id} {self.moved}"


Change = (
    EventArrived
    | PropertiesChanged
    | RecordDeleted
    | RecordsMerged
    | AssociationChanged
    | UpstreamChanged
)
