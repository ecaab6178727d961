"""Manual overrides of a record's health status (docs/scoring-semantics.md, Overrides): set,
change and clear one through the API; each is a history entry naming who and why, and a status
change is published when the effective status moves.

The override lives on the record's score state, so every path that writes the state (the
scorer, the sweep, a recompute) keeps it and shows it; expiry is found by whichever writes the
state first at or after `expires_at` — the sweep, on its day, since the expiry day is the
state's next change day.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from healthscore.domain.access import Caller
from healthscore.domain.dataset import RecordKey
from healthscore.domain.errors import Conflict, InvalidRequest, NotFound
from healthscore.domain.overrides import Override, check_override
from healthscore.domain.values import utc_day
from healthscore.ports import ScoreStore, WriteRefused
from healthscore.services.definitions import Definitions
from healthscore.services.score_views import last_cause
from healthscore.services.score_writes import (
    LiveRevision,
    LiveRevisions,
    LivesChanged,
    ScoreWrite,
    current_tally,
    until_committed,
)
from healthscore.services.views import health_card_view


class Overrides:
    def __init__(self, store: ScoreStore, definitions: Definitions) -> None:
        self.store = store
        self.definitions = definitions
        self.revisions = LiveRevisions(store)

    def put(
        self, caller: Caller, definition_id: str, key: RecordKey, body: Any, now: datetime
    ) -> dict[str, Any]:
        """Set (or replace) the record's override; its health card after."""
        caller.require_manage()
        live = self._live(caller, definition_id)
        fields = body if isinstance(body, dict) else {}
        checked, issues = check_override(
            live.definition,
            fields.get("status"),
            fields.get("score"),
            fields.get("reason"),
            fields.get("expires_at"),
            now,
        )
        if checked is None:
            raise InvalidRequest(issues[0].path, issues[0].message)
        status, score, reason, until = checked
        override = Override(status, reason, caller.user_id, now, until, score)
        colors = {t.label: t.color for t in live.definition.thresholds}
        stored = {**override.to_json(), "color": colors[status]}

        def cause(before: dict[str, Any] | None) -> dict[str, Any]:
            action = "changed" if before is not None else "set"
            shown = f"{status}" + (f" ({score})" if score is not None else "")
            return {
                "kind": "override",
                "action": action,
                "by": caller.user_id,
                "override": override.to_json(),
                "summary": f"override {action} by {caller.user_id}: {shown} until "
                f"{until.isoformat()} — {reason}",
            }

        return self._write(caller, live, key, now, lambda _old: stored, cause)

    def delete(
        self, caller: Caller, definition_id: str, key: RecordKey, now: datetime
    ) -> dict[str, Any]:
        """Clear the record's override: its computed score and status are shown again."""
        caller.require_manage()
        live = self._live(caller, definition_id)

        def cause(before: dict[str, Any] | None) -> dict[str, Any]:
            if before is None:
                raise NotFound(f"{key[0]} {key[1]!r} has no override under this health score")
            ended = {k: v for k, v in before.items() if k != "color"}
            return {
                "kind": "override",
                "action": "cleared",
                "by": caller.user_id,
                "override": ended,
                "summary": f"override cleared by {caller.user_id} ({ended['status']} set by "
                f"{ended['set_by']}: {ended['reason']})",
            }

        return self._write(caller, live, key, now, lambda _old: None, cause)

    def _live(self, caller: Caller, definition_id: str) -> LiveRevision:
        self.definitions.item(caller, definition_id)  # 404 when there is no such score
        for live in self.revisions.of(caller.account_id):
            if live.id == definition_id:
                return live
        raise Conflict(
            f"health score {definition_id!r} is not live: overrides apply to the scores it keeps"
        )

    def _write(
        self,
        caller: Caller,
        live: LiveRevision,
        key: RecordKey,
        now: datetime,
        new: Any,
        cause: Any,
    ) -> dict[str, Any]:
        account = caller.account_id

        def attempt(_n: int) -> dict[str, Any]:
            nonlocal live
            try:
                return written(live)
            except LivesChanged as changed:  # published again meanwhile: the new revision
                live = self._live(caller, live.id)
                raise WriteRefused([str(changed)]) from changed

        def written(live: LiveRevision) -> dict[str, Any]:
            state = self.store.score_states(account, [(live.id, key)]).get((live.id, key))
            if state is None:
                raise NotFound(f"{key[0]} {key[1]!r} has no score from this health score")
            before = state.override
            if before is not None and Override.from_json(before).expires_at <= now:
                before = None  # expired: what is set now is a new override
            unit = ScoreWrite(self.store, account, now, cause(before))
            state.override = new(before)
            today = utc_day(now)
            tally = current_tally(self.store, account, live, key, state, today)
            unit.write_state(live, key, state, tally, today)
            unit.commit()
            written = self.store.score(account, live.id, key)
            if written is None:
                raise NotFound(f"{key[0]} {key[1]!r} is no longer in this score's segments")
            return health_card_view(written, why=last_cause(self.store, account, written))

        return until_committed(
            attempt,
            sleep=time.sleep,
            contention=f"{key[0]}/{key[1]} kept changing while its override was written",
        )
