"""`healthscore.ports.SnapshotStore` on DynamoDB: the snapshots table, one item per score, segment
and day — pk `account#definition`, sk `segment#day` — so a segment's trend since a day is one
Query of a key range (a year of one segment: 365 items of ~300 bytes, a few RCU)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from healthscore.adapters.dynamo_tables import Tables, join_key
from healthscore.domain.snapshots import ALL, DailySnapshot


class DynamoSnapshots:
    """Implements `healthscore.ports.SnapshotStore` (mixed into `DynamoStore`)."""

    tables: Tables

    def save_snapshots(
        self, account: str, definition_id: str, rows: Sequence[DailySnapshot]
    ) -> None:
        items = self.tables.snapshots
        with items.batch_write() as batch:
            for row in rows:
                batch.save(
                    items(
                        join_key(account, definition_id),
                        join_key(row.segment, row.day.isoformat()),
                        row=row.to_json(),
                    )
                )

    def snapshots(
        self, account: str, definition_id: str, since: date, segment: str = ALL
    ) -> list[DailySnapshot]:
        items = self.tables.snapshots
        found = items.query(
            join_key(account, definition_id),
            items.sk.between(join_key(segment, since.isoformat()), join_key(segment, "9999-12-31")),
        )
        return [DailySnapshot.from_json(item.row) for item in found]
