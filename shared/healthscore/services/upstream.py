"""Scores that read other scores' outputs, kept current: a change of a score's output on a record
(a history entry, wherever it was written: the scorer, the sweep, a recompute, an override) is
fed back to the scorer as `UpstreamChanged` by the history stream's consumer (functions/notify),
and the scores that read that output are rescored for the record — their segments re-evaluated,
with a history cause naming the upstream score. Scores cannot depend on themselves (refused when
saved), so a chain of these ends."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from healthscore.domain.changes import UpstreamChanged
from healthscore.domain.values import parse_instant
from healthscore.ports import ScoreStore
from healthscore.services.score_writes import LiveRevision, ScoreWrite, current_tally


def plan_upstream(
    store: ScoreStore,
    account: str,
    change: UpstreamChanged,
    lives: list[LiveRevision],
    today: date,
    at: datetime,
) -> ScoreWrite:
    """Rescore the scores that read the upstream score's outputs on the record (their segments
    may now hold it, or no longer), with its outputs as they are now."""
    key = change.key
    cause = {
        "kind": "upstream",
        "definition_id": change.definition_id,
        "summary": f"{change.name or change.definition_id} {change.moved}".strip(),
    }
    unit = ScoreWrite(store, account, at, cause)
    readers = [live for live in lives if reads_from(live, change.definition_id, key[0])]
    states = store.score_states(account, [(live.id, key) for live in readers])
    for live in readers:
        state = states.get((live.id, key))
        tally = current_tally(store, account, live, key, state, today)
        if tally is not None or state is not None:
            unit.write_state(live, key, state, tally, today)
    return unit


def reads_from(live: LiveRevision, definition_id: str, object_type: str) -> bool:
    return live.object_type == object_type and any(
        d == definition_id for d, _name, _kind in live.upstream
    )


def upstream_change(
    account: str,
    definition_id: str,
    key: tuple[str, str],
    entry: Mapping[str, Any],
    entry_id: str,
    lives: list[LiveRevision],
) -> UpstreamChanged | None:
    """What a history entry of `definition_id` feeds back to the scorer: None when no live score
    reads its outputs on records of this type, or neither the score nor the status moved."""
    if not any(reads_from(live, definition_id, key[0]) for live in lives):
        return None
    before, after = entry.get("before"), entry.get("after")
    was, now = entry.get("status_before"), entry.get("status_after")
    if before == after and was == now:
        return None  # an entry for an input gone stale, or an override restating the same
    moment = parse_instant(str(entry.get("at")))
    name = next((live.definition.name for live in lives if live.id == definition_id), "")
    return UpstreamChanged(
        definition_id,
        key[0],
        key[1],
        0 if moment is None else int(moment.timestamp() * 1000),
        entry_id,
        name,
        f"{was} → {now}" if was != now else f"{before} → {after}",
    )


def entry_of(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)
