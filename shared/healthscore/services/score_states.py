"""A record's score state and the history entry a change leaves: one shape for every path that
writes scores (incremental scorer, sweep, recompute), so a history reads the same whatever moved
the score.

A history entry: `{at, before, after, delta, status_before, status_after, cause}`; the cause has a
`kind` (event, property, association, deletion, merge, time, recompute), a one-line `summary` a
customer-success manager can read, and the details (event ids, property names, the rules whose
points moved and by how much).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from healthscore.adapters.dynamo_tables import ScoreItem, join_key
from healthscore.adapters.score_files import points_json
from healthscore.domain.dataset import RecordKey
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.tallies import TallyScore


@dataclass(frozen=True, slots=True)
class NewScore:
    """What a state is set to: from a tally or from the batch engine."""

    score: int
    status: str
    color: str
    groups: dict[str, int | float]  # group name → points
    rules: dict[str, int | float]  # "group / rule" → points
    next_change_day: date | None

    @classmethod
    def from_tally(cls, definition: ScoreDefinition, result: TallyScore) -> NewScore:
        rules: dict[str, int | float] = {}
        for group, total in zip(definition.groups, result.groups, strict=True):
            for rule, rule_total in zip(group.rules, total.rules, strict=True):
                rules[rule_name(group.name, rule.id, rule.summary())] = points_json(
                    rule_total.hundredths
                )
        return cls(
            result.score,
            result.status,
            result.color,
            {g.name: points_json(g.hundredths) for g in result.groups},
            rules,
            result.next_change_day,
        )


def rule_name(group: str, rule_id: str | None, summary: str) -> str:
    return f"{group} / {rule_id or summary}"


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The detail of EventBridge's `Health status changed` event."""

    account_id: str
    definition_id: str
    object_type: str
    record_id: str
    score_before: int | None
    score_after: int | None
    status_before: str | None
    status_after: str | None
    at: str
    cause: dict[str, Any]

    def detail(self) -> dict[str, Any]:
        return asdict(self)


def moved_rules(before: ScoreItem | None, new: NewScore) -> list[dict[str, Any]]:
    """The rules whose points changed, with before and after."""
    old = dict(before.rules or {}) if before is not None else {}
    moved = []
    for name in sorted(set(old) | set(new.rules)):
        was, now = old.get(name, 0), new.rules.get(name, 0)
        if was != now:
            moved.append({"rule": name, "before": was, "after": now})
    return moved


def stamp(
    item: ScoreItem,
    account: str,
    definition_id: str,
    key: RecordKey,
    new: NewScore,
    *,
    revision: int,
    tallies: bytes | None,
    cause: dict[str, Any],
    at: datetime,
) -> dict[str, Any] | None:
    """Set the state to `new`; the history entry to append when score or status moved."""
    existed = item.status is not None and getattr(item, "version", None) is not None
    old_score = int(item.score) if existed else None
    old_status = item.status if existed else None
    item.score, item.status, item.color = new.score, new.status, new.color
    item.groups, item.rules = new.groups, new.rules
    item.revision, item.tallies = revision, tallies
    if new.next_change_day is not None:
        item.due_day = new.next_change_day.isoformat()
        item.due_key = join_key(account, definition_id, *key)
    else:
        item.due_day = item.due_key = None
    item.updated_at = at
    if old_score == new.score and old_status == new.status:
        return None
    delta = new.score - (old_score or 0)
    item.changed_at = at
    item.change = {"delta": delta, "status_before": old_status, "cause": cause}
    return {
        "at": at.isoformat(),
        "before": old_score,
        "after": new.score,
        "delta": delta,
        "status_before": old_status,
        "status_after": new.status,
        "cause": cause,
    }


def removal_entry(item: ScoreItem, cause: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The history entry of a record that no longer has a score (left scope, or deleted)."""
    return {
        "at": at.isoformat(),
        "before": int(item.score),
        "after": None,
        "delta": -int(item.score),
        "status_before": item.status,
        "status_after": None,
        "cause": cause,
    }


def status_change(
    account: str, definition_id: str, key: RecordKey, entry: dict[str, Any]
) -> StatusChange | None:
    if entry["status_before"] == entry["status_after"]:
        return None
    return StatusChange(
        account,
        definition_id,
        key[0],
        key[1],
        entry["before"],
        entry["after"],
        entry["status_before"],
        entry["status_after"],
        entry["at"],
        entry["cause"],
    )
