"""A live score's portfolio over time, from the nightly snapshots (domain/snapshots.py): a
year's trend is one short read, whatever the portfolio's size."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from healthscore.domain.access import Caller
from healthscore.domain.errors import InvalidRequest, NotFound
from healthscore.domain.snapshots import ALL
from healthscore.domain.validation import parse_definition
from healthscore.domain.values import utc_day
from healthscore.ports import HealthScoreStore

MAX_DAYS = 3660  # ten years of nightly rows


class Trends:
    def __init__(self, store: HealthScoreStore, now: Callable[[], datetime]) -> None:
        self.store, self.now = store, now

    def trend(
        self, caller: Caller, definition_id: str, days: int, segment: str = ALL
    ) -> dict[str, Any]:
        """The snapshots of the last `days` days (today included), oldest first."""
        item = self.store.definition(caller.account_id, definition_id)
        if item is None:
            raise NotFound(f"no health score {definition_id!r}")
        if not 1 <= days <= MAX_DAYS:
            raise InvalidRequest("days", f"must be from 1 to {MAX_DAYS}")
        known = {
            segment_id
            for raw in (item.live, item.draft)
            if raw is not None
            for segment_id in parse_definition(raw).segments
        }
        if segment != ALL and segment not in known:
            raise InvalidRequest(
                "segment",
                f"{segment!r} is not one of the score's segments ({', '.join(sorted(known))}); "
                f"{ALL!r} is every in-scope record",
            )
        since = utc_day(self.now()) - timedelta(days=days - 1)
        rows = self.store.snapshots(caller.account_id, definition_id, since, segment)
        return {
            "definition_id": definition_id,
            "segment": segment,
            "days": days,
            "rows": [row.to_json() for row in rows],
        }
