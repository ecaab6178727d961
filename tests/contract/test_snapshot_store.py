"""SnapshotStore: the same behaviour on memory, moto and DynamoDB Local."""

from __future__ import annotations

from datetime import date, timedelta

from healthscore.domain.snapshots import ALL, DailySnapshot
from healthscore.ports import HealthScoreStore


def _row(day: date, segment: str, count: int) -> DailySnapshot:
    return DailySnapshot(
        day, segment, count, 61.5, 62.0, {"Healthy": count - 1, "At-risk": 1}, 1, 0
    )


def test_a_segments_rows_since_a_day_come_back_oldest_first(store: HealthScoreStore, account: str):
    # Given ten nights of rows for every record and for a segment with a `#` in its id, and a
    # row of another score and of another account
    first = date(2026, 5, 1)
    for offset in range(10):
        day = first + timedelta(days=offset)
        store.save_snapshots(
            account, "health", [_row(day, ALL, 100 + offset), _row(day, "seg#1", 10 + offset)]
        )
    store.save_snapshots(account, "other", [_row(first, ALL, 5)])
    store.save_snapshots(f"{account}-2", "health", [_row(first, ALL, 7)])
    # When the last five days of each are read
    since = first + timedelta(days=5)
    everyone = store.snapshots(account, "health", since)
    segment = store.snapshots(account, "health", since, "seg#1")
    # Then each holds its own segment's rows from that day on, oldest first, as saved
    assert [row.day for row in everyone] == [since + timedelta(days=n) for n in range(5)]
    assert [row.count for row in everyone] == [105, 106, 107, 108, 109]
    assert [row.count for row in segment] == [15, 16, 17, 18, 19]
    assert everyone[0] == _row(since, ALL, 105)
    assert store.snapshots(account, "other", first) == [_row(first, ALL, 5)]
    assert store.snapshots(account, "health", date(2027, 1, 1)) == []
    # and a night's row saved again replaces it
    store.save_snapshots(account, "health", [_row(since, ALL, 1)])
    assert store.snapshots(account, "health", since)[0].count == 1
