"""A record's score state and the history entry a change leaves: one shape for every path that
writes scores (incremental scorer, sweep, recompute), so a history reads the same whatever moved
the score.

A history entry: `{at, before, after, delta, status_before, status_after, cause}`; the cause has a
`kind` (event, property, association, deletion, merge, time, recompute), a one-line `summary` a
customer-success manager can read, and the details (event ids, property names, the rules whose
points moved and by how much).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from healthscore.adapters.dynamo_tables import ScoreItem, join_key
from healthscore.domain.dataset import RecordKey
from healthscore.domain.score_state import NewScore, StatusChange


def moved_rules(before: ScoreItem | None, new: NewScore) -> list[dict[str, Any]]:
    """The rules whose points changed, with before and after."""
    old = dict(before.rules or {}) if before is not None else {}
    moved = []
    for name in sorted(set(old) | set(new.rules)):
        was, now = old.get(name, 0), new.rules.get(name, 0)
        if was != now:
            moved.append({"rule": name, "before": was, "after": now})
    return moved


def set_new_score(
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
