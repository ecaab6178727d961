"""The sweep: rescore exactly the records whose next change day has come
(docs/scoring-semantics.md, docs/architecture.md).

Time changes scores with no new input — an event leaves its timeframe, a decay step passes, a
`within_last` / `more_than_ago` boundary is crossed. Every score state carries the day that can
next happen (`due_day`), indexed by the sparse `due` GSI, so the sweep queries the days since its
last run — never a scan — and reads each due state once (the index projects the whole item,
tallies included). Each is rescored from its tally as of today and written back with its
version condition; a history entry with cause `time` says which rules moved and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from healthscore.domain.score_state import ScoreState, rule_name
from healthscore.domain.values import utc_day
from healthscore.ports import ScoreStore, WriteRefused
from healthscore.services.score_writes import (
    LiveRevision,
    LiveRevisions,
    LivesChanged,
    ScoreWrite,
    current_tally,
    until_committed,
)

FIRST_RUN_LOOKBACK = timedelta(days=31)  # no checkpoint yet: how far back due days are read


@dataclass
class SweepSummary:
    days: list[str] = field(default_factory=list)
    due: int = 0  # due states read
    rescored: int = 0  # states written
    changed: int = 0  # of which score or status moved (history entries)
    status_changes: int = 0


class Sweep:
    def __init__(
        self,
        store: ScoreStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.revisions = LiveRevisions(store)
        self.clock = clock
        self.sleep = sleep

    def run(self) -> SweepSummary:
        """Sweep every day from the last checkpoint (inclusive) to today."""
        at = self.clock()
        today = utc_day(at)
        last = self.store.sweep_checkpoint()
        day = min(last, today) if last is not None else today - FIRST_RUN_LOOKBACK
        summary = SweepSummary()
        lives: dict[str, dict[str, LiveRevision]] = {}
        while day <= today:
            summary.days.append(day.isoformat())
            for account, state in self.store.due_states(day):
                summary.due += 1
                if account not in lives:
                    lives[account] = {s.id: s for s in self.revisions.of(account)}
                try:
                    live = lives[account].get(state.definition_id)
                    self._rescore(account, live, state, today, summary)
                except LivesChanged:  # a newer revision went live since it was read
                    lives[account] = {s.id: s for s in self.revisions.of(account)}
                    live = lives[account].get(state.definition_id)
                    self._rescore(account, live, state, today, summary)
            day += timedelta(days=1)
        self.store.save_sweep_checkpoint(today)
        return summary

    def _rescore(
        self,
        account: str,
        live: LiveRevision | None,
        due: ScoreState,
        today: date,
        summary: SweepSummary,
    ) -> None:
        definition_id, key = due.definition_id, due.key
        if live is None:
            # the score is no longer live: its states wait for the next recompute, off the index
            due.due_day = None
            self.store.save_state(account, due)
            return
        item: ScoreState | None = due

        def attempt(_n: int) -> None:
            if item is None:
                return  # the state went (record deleted or out of scope) since it was due
            if item.due_day is None or item.due_day > today:
                return  # someone rescored it since the index said it was due
            unit = ScoreWrite(
                self.store,
                account,
                self.clock(),
                {"kind": "time", "summary": "time passed"},
                explain=_explain_time,
            )
            tally = current_tally(self.store, account, live, key, item, today)
            unit.write_state(live, key, item, tally, today)
            outcome = unit.commit()
            summary.rescored += 1
            summary.changed += len(outcome.history)
            summary.status_changes += len(outcome.status_changes)

        def read_again(_refused: WriteRefused, _n: int) -> None:
            nonlocal item
            item = self.store.score_states(account, [(definition_id, key)]).get(
                (definition_id, key)
            )

        until_committed(
            attempt,
            sleep=self.sleep,
            contention=f"{key[0]}/{key[1]} kept changing while the sweep rescored it",
            on_refused=read_again,
        )


def _explain_time(live: LiveRevision, moved: list[dict[str, Any]]) -> str:
    """'time passed: Engagement / meeting_booked 20 → 10 (decay step)' for each moved rule
    (named as history names it; its key is `rule_id`)."""
    reasons = {}
    for group in live.definition.groups:
        for rule in group.rules:
            name = rule_name(group.name, rule.id, rule.summary())
            if rule.event_type is not None and group.decay is not None:
                reasons[name] = "decay step"
            elif rule.timeframe is not None:
                reasons[name] = "left its timeframe"
            else:
                reasons[name] = "date condition"
    parts = [
        f"{m['rule']} {m['before']} → {m['after']} "
        f"({reasons.get(m.get('rule_id', m['rule']), 'time')})"
        for m in moved
    ]
    return "time passed: " + ("; ".join(parts) if parts else "no rule moved")
