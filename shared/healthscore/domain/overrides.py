"""Manual overrides: a customer-success manager who knows more than the data sets a record's
status for one health score — optionally a fixed score — with a reason and an expiry.

While an override is in effect (`set_at ≤ T < expires_at`) the record's effective status (and
colour) is the override's and its effective score is the override's score if it has one, else
the computed score. The computed score and status are kept beside it. An override's start and
end are days on which the effective score changes with no new input: the sweep finds its expiry
on its day like a decay step.

A dataset may hold several overrides of one record and score over time; at `T` the one in
effect is the latest set by `T` (ties: the later line), if it has not expired.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from healthscore.domain.definition import Issue, ScoreDefinition
from healthscore.domain.values import parse_instant, utc_day

MAX_REASON = 500
MAX_DAYS_AHEAD = 365
MAX_SET_BY = 200


@dataclass(frozen=True, slots=True)
class Override:
    status: str
    reason: str
    set_by: str
    set_at: datetime
    expires_at: datetime
    score: int | None = None
    # in a dataset: whose and which score's (the definition's id or name); the line orders ties
    object_type: str = ""
    id: str = ""
    definition: str = ""
    line: int = 0

    def in_effect(self, at: datetime) -> bool:
        return self.set_at <= at < self.expires_at

    def to_json(self) -> dict[str, Any]:
        """The override as the API, the card, history and batch output show it."""
        return {
            "status": self.status,
            "score": self.score,
            "reason": self.reason,
            "set_by": self.set_by,
            "set_at": self.set_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Override:
        """An override as stored (`to_json`); the store wrote it, so it is well formed."""
        set_at, expires_at = parse_instant(data["set_at"]), parse_instant(data["expires_at"])
        if set_at is None or expires_at is None:
            raise ValueError(f"a stored override without its instants: {dict(data)}")
        score = data.get("score")
        return cls(
            status=str(data["status"]),
            reason=str(data["reason"]),
            set_by=str(data["set_by"]),
            set_at=set_at,
            expires_at=expires_at,
            score=None if score is None else int(score),
        )


@dataclass(frozen=True, slots=True)
class Effective:
    """What a record shows: the effective score and status, and the override behind them."""

    score: int
    status: str
    color: str
    override: Override | None = None


def effective(
    definition: ScoreDefinition,
    score: int,
    status: str,
    color: str,
    override: Override | None,
    at: datetime,
) -> Effective:
    """The effective score and status at `at` of a computed score under `override`."""
    if override is None or not override.in_effect(at):
        return Effective(score, status, color)
    colors = {t.label: t.color for t in definition.thresholds}
    return Effective(
        score if override.score is None else override.score,
        override.status,
        colors.get(override.status, color),
        override,
    )


def in_effect(overrides: Iterable[Override], at: datetime) -> Override | None:
    """Of one record's overrides, the one in effect at `at`: the latest set by then (ties: the
    later line), unless it has expired."""
    latest: Override | None = None
    for override in overrides:
        if override.set_at > at:
            continue
        if latest is None or (override.set_at, override.line) >= (latest.set_at, latest.line):
            latest = override
    return latest if latest is not None and at < latest.expires_at else None


def change_days(overrides: Iterable[Override], at: datetime) -> Iterator[date]:
    """Days from `at`'s on which the effective score can change by itself: an override that
    starts later, and the expiry of the one in effect (possibly later today)."""
    current = in_effect(overrides, at)
    for override in overrides:
        if override.set_at > at:
            yield utc_day(override.set_at)
    if current is not None:
        yield utc_day(current.expires_at)


def next_day(computed: date | None, overrides: Iterable[Override], at: datetime) -> date | None:
    """The next change day of a score whose computed part next changes on `computed`."""
    days = [d for d in (computed, *change_days(list(overrides), at)) if d is not None]
    return min(days, default=None)


def check_override(
    definition: ScoreDefinition,
    status: Any,
    score: Any,
    reason: Any,
    expires_at: Any,
    now: datetime,
    path: str = "",
) -> tuple[tuple[str, int | None, str, datetime] | None, list[Issue]]:
    """Check an override's fields against the score it is for, set at `now`: (status, score,
    reason, expires_at), or the issues, each at its field."""
    issues: list[Issue] = []
    labels = [t.label for t in definition.thresholds]
    if not isinstance(status, str) or status not in labels:
        issues.append(Issue(f"{path}status", f"must be one of the score's statuses: {labels}"))
    if score is not None and (
        isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100
    ):
        issues.append(Issue(f"{path}score", "must be an integer from 0 to 100, or left out"))
    if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= MAX_REASON:
        issues.append(Issue(f"{path}reason", f"must be text of 1 to {MAX_REASON} characters"))
    until = parse_instant(expires_at) if isinstance(expires_at, str) else None
    if until is None:
        issues.append(Issue(f"{path}expires_at", "must be an ISO 8601 instant with a time zone"))
    elif until <= now:
        issues.append(Issue(f"{path}expires_at", f"must be after {now.isoformat()}"))
    elif until > now + timedelta(days=MAX_DAYS_AHEAD):
        issues.append(
            Issue(f"{path}expires_at", f"must be at most {MAX_DAYS_AHEAD} days after it is set")
        )
    if issues or until is None:
        return None, issues
    return (str(status), score, str(reason).strip(), until), []


def check_overrides(definition: ScoreDefinition, overrides: Iterable[Override]) -> list[Issue]:
    """A dataset's overrides of this score must set one of its statuses."""
    labels = [t.label for t in definition.thresholds]
    names = {definition.name, *([definition.id] if definition.id else [])}
    return [
        Issue(
            f"overrides[{o.line}].status",
            f"{o.object_type}/{o.id}: {o.status!r} is not one of the score's statuses {labels}",
        )
        for o in overrides
        if o.definition in names and o.status not in labels
    ]
