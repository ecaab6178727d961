"""Daily snapshots: a portfolio's aggregates for one day, per score and segment.

The nightly run leaves one row per (day, segment of the score) and one for every in-scope
record (segment `ALL`): how many records, the average and median effective score, how many in
each status, how many overridden and how many with stale inputs. A year's trend is a few hundred
rows, whatever the portfolio's size.

Scores are whole numbers from 0 to 100, so a segment's counts are a 101-bin histogram: shards add
their histograms up and the median is exact (the mean of the two middle scores when the count is
even), without holding one row per record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

ALL = "*"  # the row of every in-scope record, whichever segment it is in
SCORES = 101


@dataclass
class SegmentCounts:
    """One segment's counts in one snapshot (added up over shards)."""

    histogram: list[int] = field(default_factory=lambda: [0] * SCORES)
    statuses: dict[str, int] = field(default_factory=dict)
    overridden: int = 0
    stale: int = 0

    def add(self, score: int, status: str, overridden: bool, stale: bool) -> None:
        self.histogram[min(max(score, 0), SCORES - 1)] += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.overridden += overridden
        self.stale += stale

    def merge(self, other: SegmentCounts) -> None:
        self.histogram = [a + b for a, b in zip(self.histogram, other.histogram, strict=True)]
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.overridden += other.overridden
        self.stale += other.stale

    @property
    def count(self) -> int:
        return sum(self.histogram)

    def average(self) -> float | None:
        count = self.count
        if not count:
            return None
        return round(sum(score * n for score, n in enumerate(self.histogram)) / count, 2)

    def median(self) -> float | None:
        count = self.count
        if not count:
            return None
        middle = ((count - 1) // 2, count // 2)  # the 0-based ranks of the middle score(s)
        found: list[int] = []
        seen = 0
        for score, n in enumerate(self.histogram):
            while len(found) < 2 and seen <= middle[len(found)] < seen + n:
                found.append(score)
            seen += n
            if len(found) == 2:
                break
        return (found[0] + found[1]) / 2

    def to_json(self) -> dict[str, Any]:
        return {
            "histogram": self.histogram,
            "statuses": self.statuses,
            "overridden": self.overridden,
            "stale": self.stale,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SegmentCounts:
        return cls(
            list(data["histogram"]),
            dict(data["statuses"]),
            int(data["overridden"]),
            int(data["stale"]),
        )


@dataclass
class PortfolioCounts:
    """A score's snapshot while it is being built: the counts of each of its segments and of
    all its in-scope records."""

    segments: dict[str, SegmentCounts] = field(default_factory=dict)

    def add(
        self, score: int, status: str, overridden: bool, stale: bool, segments: Iterable[str]
    ) -> None:
        for segment in (ALL, *segments):
            self.segments.setdefault(segment, SegmentCounts()).add(score, status, overridden, stale)

    def merge(self, other: PortfolioCounts) -> None:
        for segment, counts in other.segments.items():
            self.segments.setdefault(segment, SegmentCounts()).merge(counts)

    def to_json(self) -> dict[str, Any]:
        return {segment: counts.to_json() for segment, counts in self.segments.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PortfolioCounts:
        return cls({segment: SegmentCounts.from_json(c) for segment, c in data.items()})

    def rows(
        self, day: date, segments: Sequence[str], labels: Sequence[str]
    ) -> list[DailySnapshot]:
        """One row per segment of the score (`segments`, in its order) and one for all, each
        with every status `labels` names (0 where none), even a segment with no record."""
        return [
            DailySnapshot.of(day, segment, self.segments.get(segment, SegmentCounts()), labels)
            for segment in (ALL, *segments)
        ]


@dataclass(frozen=True)
class DailySnapshot:
    """One day's row of a score's trend, for one segment (or `ALL`)."""

    day: date
    segment: str
    count: int
    average: float | None
    median: float | None
    statuses: dict[str, int]
    overridden: int
    stale: int

    @classmethod
    def of(
        cls, day: date, segment: str, counts: SegmentCounts, labels: Sequence[str]
    ) -> DailySnapshot:
        statuses = {label: counts.statuses.get(label, 0) for label in labels}
        for label, n in sorted(counts.statuses.items()):  # a label since removed: still counted
            statuses.setdefault(label, n)
        return cls(
            day,
            segment,
            counts.count,
            counts.average(),
            counts.median(),
            statuses,
            counts.overridden,
            counts.stale,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "segment": self.segment,
            "count": self.count,
            "average": self.average,
            "median": self.median,
            "statuses": self.statuses,
            "overridden": self.overridden,
            "stale": self.stale,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DailySnapshot:
        return cls(
            date.fromisoformat(str(data["day"])),
            str(data["segment"]),
            int(data["count"]),
            None if data["average"] is None else float(data["average"]),
            None if data["median"] is None else float(data["median"]),
            {str(k): int(v) for k, v in data["statuses"].items()},
            int(data["overridden"]),
            int(data["stale"]),
        )
