"""Score history and the sweep's checkpoint on DynamoDB (mixed into `DynamoStore`): each
record's history newest first in pages (history table: pk `account#definition#type#id`, sk
`at#sequence`), and the day the sweep has reached (jobs table, `#sweep` / `checkpoint`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from healthscore.adapters.cursors import decode_cursor, encode_cursor
from healthscore.adapters.dynamo_definitions import (
    _get,
    now,
)
from healthscore.adapters.dynamo_tables import (
    Tables,
    join_key,
)
from healthscore.adapters.dynamo_writes import (
    history_instant,
    history_item,
    retry_throttled,
)
from healthscore.domain.dataset import (
    RecordKey,
)

SWEEP_KEY = "#sweep"  # the sweep's own jobs item (account ids never contain `#`)


class DynamoHistory:
    """History and the sweep checkpoint, as `healthscore.ports.ScoreStore` reads them."""

    tables: Tables

    def sweep_checkpoint(self) -> date | None:
        item = _get(self.tables.jobs, SWEEP_KEY, "checkpoint")
        return None if item is None else date.fromisoformat(item.detail["day"])

    def save_sweep_checkpoint(self, day: date) -> None:
        at = now()
        self.tables.jobs(
            SWEEP_KEY,
            "checkpoint",
            kind="sweep",
            status="succeeded",
            detail={"day": day.isoformat()},
            created_at=at,
            updated_at=at,
        ).save()

    def append_history(
        self, account: str, definition_id: str, key: RecordKey, at: datetime, entry: dict[str, Any]
    ) -> None:
        history_item(self.tables, account, definition_id, key, at, entry).save()

    def history(
        self,
        account: str,
        definition_id: str,
        key: RecordKey,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        pk = join_key(account, definition_id, *key)
        start = decode_cursor(cursor, pk)
        result = self.tables.history.query(
            pk, scan_index_forward=False, limit=limit, last_evaluated_key=start
        )
        entries = [item.entry for item in result]
        return entries, encode_cursor(result.last_evaluated_key)

    @retry_throttled
    def history_at(
        self, account: str, definition_id: str, key: RecordKey, at: datetime
    ) -> dict[str, Any] | None:
        history = self.tables.history
        until = history.sk <= f"{history_instant(at)}#999999"
        pk = join_key(account, definition_id, *key)
        for item in history.query(pk, until, scan_index_forward=False, limit=1):
            return dict(item.entry)
        return None
