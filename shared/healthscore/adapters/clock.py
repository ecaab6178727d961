"""What time it is for scoring. On AWS: now. Locally, `healthscore clock advance 7d` moves a
clock kept in a file, so decay and timeframes can be watched without waiting for days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path


class Clock:
    def __init__(self, offset_file: str | None = None) -> None:
        self.offset_file = Path(offset_file) if offset_file else None

    def offset(self) -> timedelta:
        if self.offset_file is None or not self.offset_file.exists():
            return timedelta()
        return timedelta(seconds=float(self.offset_file.read_text().strip() or 0))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()

    def advance(self, by: timedelta) -> datetime:
        if self.offset_file is None:
            raise RuntimeError("only the local stack's clock can be moved")
        self.offset_file.write_text(str((self.offset() + by).total_seconds()))
        return self.now()
