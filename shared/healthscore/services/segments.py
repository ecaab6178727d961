"""Use cases for segments: list, read, create or replace (versioned), delete (refused while a
score uses the segment)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from healthscore.adapters.cursors import decode_cursor, encode_cursor
from healthscore.adapters.dataset_files import parse_segment
from healthscore.adapters.dynamo_tables import join_key
from healthscore.domain.access import Caller
from healthscore.domain.dataset import Record
from healthscore.domain.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
)
from healthscore.domain.lifecycle import StoredSegment
from healthscore.ports import HealthScoreStore
from healthscore.services.dependencies import refuse_cycles
from healthscore.services.views import (
    check_version,
    parse_request,
    record_view,
    segment_view,
    working_revision,
)

MEMBERS_PAGE = 200  # records read per store call
MEMBERS_SCANNED = 2_000  # records one members page reads at most


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
        refuse_cycles(self.store, caller.account_id, segment=raw)
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

    def members(
        self,
        caller: Caller,
        segment_id: str,
        today: date,
        limit: int = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """A page of the records in the segment (as of `today`), in id order. A page reads at
        most `MEMBERS_SCANNED` records: a sparse segment may answer fewer than `limit` members
        and a cursor — keep paging until there is none."""
        item = self._segment(caller, segment_id)
        segment = parse_segment(item.body)
        pk = join_key(caller.account_id, "members", segment_id)
        start = decode_cursor(cursor, pk)
        after = start["sk"]["S"] if start else None
        members: list[dict[str, Any]] = []
        scanned, more = 0, True
        read = {c.property for c in segment.conditions if c.property}
        outputs = [
            e
            for e in self.store.output_properties(caller.account_id)
            if e["object_type"] == segment.object_type and e["name"] in read
        ]
        while len(members) < limit and scanned < MEMBERS_SCANNED and more:
            page = self.store.records_after(
                caller.account_id, segment.object_type, after, MEMBERS_PAGE
            )
            more = len(page) == MEMBERS_PAGE
            page = self._with_outputs(caller.account_id, page, outputs)
            for record in page:
                scanned += 1
                after = record.id
                if segment.matches(record, today):
                    members.append(record_view(record))
                    if len(members) == limit:
                        more = more or record is not page[-1]
                        break
        next_cursor = encode_cursor({"pk": {"S": pk}, "sk": {"S": after}}) if more else None
        return {"members": members, "next_cursor": next_cursor}

    def _with_outputs(
        self, account: str, page: list[Record], outputs: list[dict[str, Any]]
    ) -> list[Record]:
        """The records with the live scores' outputs the segment reads, from their states."""
        if not outputs or not page:
            return page
        definitions = sorted({str(e["definition_id"]) for e in outputs})
        states = self.store.score_states(account, [(d, r.key) for d in definitions for r in page])
        shown = []
        for record in page:
            properties = dict(record.properties)
            for entry in outputs:
                state = states.get((str(entry["definition_id"]), record.key))
                properties.pop(entry["name"], None)
                if state is not None:
                    value = state.score if entry["kind"] == "score" else state.status
                    properties[entry["name"]] = value
            shown.append(replace(record, properties=properties))
        return shown

    def _segment(self, caller: Caller, segment_id: str) -> Any:
        item = self.store.stored_segment(caller.account_id, segment_id)
        if item is None:
            raise NotFound(f"no segment {segment_id!r}")
        return item
