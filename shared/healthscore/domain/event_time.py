"""When an event counts, and when that changes: the one statement of these rules that the
reference engine and the tallies share (the batch engine has its vectorised form, held to them
by the differential tests).

An event's **age** is `day(as-of) − day(occurred_at)` in whole days. It counts for its points
times its group's decay factor, `max(0, 100 − percent × floor(age / period)) / 100`, unless it
lies in the future, has left its rule's timeframe (`age ≥ timeframe`), or has decayed to 0 — then
it counts for nothing and no longer matches at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from healthscore.domain.definition import Group, Rule


def event_percent(group: Group, rule: Rule, age: int) -> int:
    """The percent of its points an event `age` days old counts for under `rule`: 0 when it does
    not count (in the future, out of the timeframe, or fully decayed)."""
    if age < 0 or (rule.timeframe is not None and age >= rule.timeframe.days):
        return 0
    return group.decay.factor_percent(age) if group.decay is not None else 100


def never_counts_again(group: Group, rule: Rule, age: int) -> bool:
    """Time only moves forward: an event out of its timeframe or fully decayed stays out."""
    return age >= 0 and event_percent(group, rule, age) == 0


def event_time_changes(group: Group, rule: Rule, day: date, age: int) -> Iterator[date]:
    """The days on which what a counting event (dated `day`, `age` days old) earns changes with
    no new input: it leaves the timeframe, or its decay takes another step."""
    if rule.timeframe is not None:
        yield day + timedelta(days=rule.timeframe.days)
    if group.decay is not None:
        period = group.decay.every.days
        yield day + timedelta(days=(age // period + 1) * period)
