"""Use cases that read scores: test a record under a revision, preview a distribution, compare
draft with live, report by property or segment, and the stored scores, health cards and
history."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from healthscore.domain.access import Caller
from healthscore.domain.dataset import RecordKey
from healthscore.domain.definition import DEFAULT_COMPARE_DAYS, ScoreDefinition
from healthscore.domain.errors import (
    InvalidRequest,
    NotFound,
)
from healthscore.domain.reference_engine import (
    RecordScore,
    in_scope,
    score,
    score_record,
)
from healthscore.domain.score_state import ScoreState
from healthscore.domain.values import MISSING_TEXT, display_text, utc_day
from healthscore.ports import HealthScoreStore, ScoreStore
from healthscore.services.definitions import Definitions, Revision
from healthscore.services.summaries import breakdown, distribution, median
from healthscore.services.views import (
    health_card_view,
    raise_segment_issues,
)


class ScoreViews:
    """What a score says: a record tested, previews, what-if, reports, stored scores, health cards
    and history."""

    def __init__(self, store: HealthScoreStore, definitions: Definitions) -> None:
        self.store = store
        self.definitions = definitions

    def test_record(
        self,
        caller: Caller,
        definition_id: str,
        which: Revision,
        record_id: str,
        as_of: datetime,
    ) -> dict[str, Any]:
        """A record's score and breakdown under a revision; nothing is written."""
        definition = self.definitions.revision(caller, definition_id, which)
        key = (definition.object_type, record_id)
        dataset = self.store.neighbourhood(
            caller.account_id, key, contacts_events=definition.object_type == "companies"
        )
        raise_segment_issues(definition, dataset)
        if not dataset.has_record(key):
            raise NotFound(f"no {definition.object_type} record {record_id!r}")
        record = dataset.record(key)
        today = utc_day(as_of)
        segments = [dataset.segments[s] for s in definition.segments]
        if not in_scope(record, segments, today):
            return {"id": record_id, "in_scope": False, "segments": definition.segments}
        result = score_record(definition, dataset, record, today, segments)
        return {"in_scope": True, **breakdown(result)}

    def scored(
        self, caller: Caller, definition: ScoreDefinition, as_of: datetime
    ) -> list[RecordScore]:
        dataset = self.store.dataset(caller.account_id)
        raise_segment_issues(definition, dataset)
        return score(definition, dataset, as_of)

    def preview(
        self, caller: Caller, definition_id: str, which: Revision, as_of: datetime
    ) -> dict[str, Any]:
        definition = self.definitions.revision(caller, definition_id, which)
        return distribution(definition, self.scored(caller, definition, as_of))

    def what_if(
        self, caller: Caller, definition_id: str, as_of: datetime, limit: int
    ) -> dict[str, Any]:
        live = self.definitions.revision(caller, definition_id, "live")
        draft = self.definitions.revision(caller, definition_id, "draft")
        dataset = self.store.dataset(caller.account_id)
        raise_segment_issues(live, dataset)
        raise_segment_issues(draft, dataset)
        before = {r.id: r for r in score(live, dataset, as_of)}
        after = {r.id: r for r in score(draft, dataset, as_of)}
        both = sorted(before.keys() & after.keys())
        moved: list[dict[str, Any]] = [
            {
                "id": rid,
                "live_score": before[rid].score,
                "draft_score": after[rid].score,
                "delta": after[rid].score - before[rid].score,
                "live_status": before[rid].status,
                "draft_status": after[rid].status,
            }
            for rid in both
            if before[rid].score != after[rid].score or before[rid].status != after[rid].status
        ]
        transitions = Counter(
            (m["live_status"], m["draft_status"])
            for m in moved
            if m["live_status"] != m["draft_status"]
        )
        return {
            "compared": len(both),
            "changed_status": sum(transitions.values()),
            "changed_score": sum(1 for m in moved if m["delta"] != 0),
            "only_live": len(before.keys() - after.keys()),
            "only_draft": len(after.keys() - before.keys()),
            "transitions": [
                {"from": a, "to": b, "count": n} for (a, b), n in sorted(transitions.items())
            ],
            "movers": sorted(moved, key=lambda m: (-abs(m["delta"]), m["id"]))[:limit],
        }

    def report(
        self, caller: Caller, definition_id: str, by: str, as_of: datetime
    ) -> dict[str, Any]:
        definition = self.definitions.revision(caller, definition_id, "live")
        dataset = self.store.dataset(caller.account_id)
        raise_segment_issues(definition, dataset)
        results = score(definition, dataset, as_of)
        today = utc_day(as_of)
        groups: dict[str, list[RecordScore]] = {}
        if by == "segment":
            for segment in dataset.segments.values():
                if segment.object_type != definition.object_type:
                    continue
                members = [
                    r
                    for r in results
                    if segment.matches(dataset.record((r.object_type, r.id)), today)
                ]
                groups[segment.name] = members
        else:
            known = {
                name
                for record in dataset.records_of(definition.object_type)
                for name in record.properties
            }
            if by not in known:
                raise InvalidRequest(
                    "by",
                    f"no {definition.object_type} property {by!r}; known: "
                    + (", ".join(sorted(known)) or "none"),
                )
            for r in results:
                value = dataset.record((r.object_type, r.id)).properties.get(by)
                groups.setdefault(display_text(value) or MISSING_TEXT, []).append(r)
        thresholds = list(reversed(definition.thresholds))
        rows = []
        for name in sorted(groups, key=lambda name: (-len(groups[name]), name)):
            members = groups[name]
            counts = Counter(r.status for r in members)
            rows.append(
                {
                    by: name,
                    "records": len(members),
                    "average": round(sum(r.score for r in members) / len(members), 1)
                    if members
                    else None,
                    "median": median([r.score for r in members]),
                    "statuses": {t.label: counts.get(t.label, 0) for t in thresholds},
                    "overridden": sum(r.override is not None for r in members),
                    "stale": sum(bool(r.stale) for r in members),
                }
            )
        return {"by": by, "rows": rows}

    def scores(
        self, caller: Caller, definition_id: str, status: str | None, limit: int
    ) -> dict[str, Any]:
        """Counts of stored scores by status, and the `limit` lowest (of `status`, if given) as
        health cards — the accounts a CSM should look at first. Reads every state of the score:
        meant for a portfolio, not for a page per request at scale."""
        item = self.definitions.item(caller, definition_id)
        raw = item.live or item.draft
        labels = [t["label"] for t in (raw or {}).get("thresholds", [])]
        if status is not None and status not in labels:
            raise InvalidRequest("status", f"must be one of {', '.join(labels)}")
        counts: Counter[str] = Counter()
        lowest: list[ScoreState] = []
        overridden = stale = 0
        for state in self.store.scores(caller.account_id, definition_id):
            counts[str(state.status)] += 1
            overridden += state.override is not None
            stale += bool(state.stale)
            if status is None or state.status == status:
                lowest.append(state)
        # most at risk first; equal scores (many clamp at 0) by the most negative points
        lowest.sort(key=lambda s: (s.score, sum(float(v) for v in s.groups.values()), s.key))
        cards = [
            health_card_view(s, why=last_cause(self.store, caller.account_id, s))
            for s in lowest[:limit]
        ]
        return {
            "total": sum(counts.values()),
            "counts": {label: counts.get(label, 0) for label in reversed(labels)},
            "overridden": overridden,
            "stale": stale,
            "lowest": cards,
        }

    def health_card(
        self,
        caller: Caller,
        definition_id: str,
        key: RecordKey,
        now: datetime,
        compare_days: int | None = None,
    ) -> dict[str, Any]:
        """The card, with the trend over `compare_days` (default: the definition's
        `card.compare_days`, else 30): the score and status then — the last change at or
        before that instant — and the change since."""
        item = self.definitions.item(caller, definition_id)
        state = self.store.score(caller.account_id, definition_id, key)
        if state is None:
            raise NotFound(f"{key[0]} {key[1]!r} has no score from this health score yet")
        raw = item.live or item.draft or {}
        colors = {str(t["label"]): str(t["color"]) for t in raw.get("thresholds", [])}
        card = health_card_view(
            state, now, colors, last_cause(self.store, caller.account_id, state)
        )
        days = compare_days or int(
            (raw.get("card") or {}).get("compare_days", DEFAULT_COMPARE_DAYS)
        )
        then = now - timedelta(days=days)
        entry = self.store.history_at(caller.account_id, definition_id, key, then)
        score_then = None if entry is None else entry.get("after")
        card["compare"] = {
            "days": days,
            "since": then.isoformat(),
            "score_then": score_then,
            "status_then": None if entry is None else entry.get("status_after"),
            "delta": None if score_then is None else int(card["score"]) - int(score_then),
        }
        return card

    def history(
        self,
        caller: Caller,
        definition_id: str,
        key: RecordKey,
        limit: int,
        cursor: str | None,
    ) -> dict[str, Any]:
        self.definitions.item(caller, definition_id)
        entries, next_cursor = self.store.history(
            caller.account_id, definition_id, key, limit, cursor
        )
        return {"entries": entries, "next_cursor": next_cursor}


def last_cause(store: ScoreStore, account: str, state: ScoreState) -> dict[str, Any] | None:
    """The cause of the state's last change: its history entry's (written at `changed_at`)."""
    if state.changed_at is None:
        return None
    entry = store.history_at(account, state.definition_id, state.key, state.changed_at)
    cause = None if entry is None else entry.get("cause")
    return dict(cause) if isinstance(cause, dict) else None
