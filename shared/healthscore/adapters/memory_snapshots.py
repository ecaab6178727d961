"""`healthscore.ports.SnapshotStore` in memory (mixed into `MemoryStore`); the contract tests
hold it to the DynamoDB one."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date

from healthscore.domain.snapshots import ALL, DailySnapshot


class MemorySnapshots:
    def __init__(self) -> None:
        self._snapshots_lock = threading.Lock()
        self._snapshots: dict[tuple[str, str, str, date], DailySnapshot] = {}

    def save_snapshots(
        self, account: str, definition_id: str, rows: Sequence[DailySnapshot]
    ) -> None:
        with self._snapshots_lock:
            for row in rows:
                self._snapshots[(account, definition_id, row.segment, row.day)] = row

    def snapshots(
        self, account: str, definition_id: str, since: date, segment: str = ALL
    ) -> list[DailySnapshot]:
        with self._snapshots_lock:
            return sorted(
                (
                    row
                    for (a, d, s, day), row in self._snapshots.items()
                    if (a, d, s) == (account, definition_id, segment) and day >= since
                ),
                key=lambda row: row.day,
            )
