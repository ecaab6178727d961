"""What the definitions use case keeps: a health score's stored form (its draft and live
revisions and where it is in its lifecycle), a stored segment, and a job. Each carries the
version it was read at; a write from a stale read is refused (a Conflict), never an overwrite."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class StoredDefinition:
    """A health score: its live revision (what scores records) and its draft revision (edits not
    yet published, or the whole score while it has never been turned on)."""

    id: str
    name: str
    object_type: str
    state: str  # draft | live | off
    created_at: datetime
    updated_at: datetime
    updated_by: str
    draft: dict[str, Any] | None = None
    draft_revision: int = 0
    live: dict[str, Any] | None = None
    live_revision: int = 0
    last_job: str | None = None
    version: int | None = None  # None: not stored yet


@dataclass(slots=True)
class StoredSegment:
    id: str
    body: dict[str, Any]
    updated_at: datetime
    version: int | None = None


@dataclass(slots=True)
class Job:
    """A piece of work the API started (a turn-on's computation) and how it went."""

    id: str
    kind: str
    status: str  # queued | running | succeeded | failed
    created_at: datetime
    updated_at: datetime
    definition_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
