"""Freshness rules: inputs a team types by hand (a CSM's sentiment, an NPS answer) that must be
kept up to date.

An input is **stale** on day `D` when the property has no value that day, or its last change is
`max_age` days or more before `D`. Stale inputs do not change the score; they are listed beside
it. The day an input becomes stale is a day the score's view changes with no new input (the
sweep finds it, and `Health input stale` is published once per property per staleness).

When a property's last change is not known — a value in `records.jsonl` with no change lines, or
a value stored before change times were kept — it is not stale while it has a value: there is
nothing to say it is old.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from healthscore.domain.definition import Freshness
from healthscore.domain.values import is_missing


def stale_inputs(
    rules: Sequence[Freshness],
    properties: Mapping[str, Any],
    changed: Mapping[str, date],
    today: date,
) -> tuple[str, ...]:
    """The stale inputs on `today`, sorted by name; `changed` holds each property's last change
    day (on or before `today`) where it is known."""
    stale = set()
    for rule in rules:
        day = changed.get(rule.property)
        too_old = day is not None and (today - day).days >= rule.max_age.days
        if is_missing(properties.get(rule.property)) or too_old:
            stale.add(rule.property)
    return tuple(sorted(stale))


def stale_days(
    rules: Sequence[Freshness],
    properties: Mapping[str, Any],
    changed: Mapping[str, date],
    today: date,
) -> Iterator[date]:
    """Days after `today` on which an input that is fresh today becomes stale."""
    for rule in rules:
        day = changed.get(rule.property)
        if day is None or is_missing(properties.get(rule.property)):
            continue
        stale_on = day + timedelta(days=rule.max_age.days)
        if stale_on > today:
            yield stale_on
