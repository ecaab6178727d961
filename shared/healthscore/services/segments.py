"""Use cases for segments: list, read, create or replace (versioned), delete (refused while a
score uses the segment)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from healthscore.adapters.dataset_files import parse_segment
from healthscore.domain.access import Caller
from healthscore.domain.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
)
from healthscore.domain.lifecycle import StoredSegment
from healthscore.ports import HealthScoreStore
from healthscore.services.views import (
    check_version,
    parse_request,
    segment_view,
    working_revision,
)


class Segments:
    """Segments of the caller's account: the lists of records scores apply to."""

    def __init__(self, store: HealthScoreStore) -> None:
        self.store = store

    def list_segments(self, caller: Caller) -> list[dict[str, Any]]:
        return [segment_view(item) for item in self.store.stored_segments(caller.account_id)]

    def get_segment(self, caller: Caller, segment_id: str) -> dict[str, Any]:
        return segment_view(self._segment(caller, segment_id))

    def put_segment(
        self, caller: Caller, segment_id: str, body: dict[str, Any], version: int | None
    ) -> dict[str, Any]:
        caller.require_manage()
        if body.get("id") not in (None, segment_id):
            raise InvalidRequest("id", f"must be the id in the path ({segment_id!r}) or left out")
        raw = {**body, "id": segment_id}
        parse_request(parse_segment, raw, "")
        item = self.store.stored_segment(caller.account_id, segment_id)
        if item is None:
            if version not in (None, 0):
                raise Conflict(f"segment {segment_id!r} does not exist yet: send no version")
            item = StoredSegment(segment_id, raw, datetime.now(UTC))
        else:
            check_version(item.version, version, f"segment {segment_id!r}")
            item.body = raw
            item.updated_at = datetime.now(UTC)
        self.store.save_segment(caller.account_id, item)
        return segment_view(item)

    def delete_segment(self, caller: Caller, segment_id: str) -> None:
        caller.require_manage()
        item = self._segment(caller, segment_id)
        users = [
            d.name
            for d in self.store.definitions(caller.account_id)
            if segment_id in working_revision(d).get("segments", [])
            or segment_id in (d.live or {}).get("segments", [])
        ]
        if users:
            raise Conflict(f"segment {segment_id!r} is used by {', '.join(sorted(users))}")
        self.store.delete_segment(caller.account_id, item)

    def _segment(self, caller: Caller, segment_id: str) -> Any:
        item = self.store.stored_segment(caller.account_id, segment_id)
        if item is None:
            raise NotFound(f"no segment {segment_id!r}")
        return item
