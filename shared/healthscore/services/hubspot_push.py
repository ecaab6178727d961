"""Scores out to HubSpot as they change (the `writeback` function's use case).

Every history entry the scorer, the sweep or a recompute commits names a record whose score or
status moved; the history table's stream puts its key on the write-back queue, and a batch of
those keys arrives here. For each account with a connection that writes back:

1. take the account's write-back lease (one pusher per portal at a time — HubSpot has no
   conditional writes, so two pushers could otherwise land an older value after a newer one);
2. make sure the score's property group and two properties exist and match the live revision
   (once per revision per execution environment);
3. read the records' **stored** score states under the lease and send them in `batch/update`
   calls of ≤ 100 records, one input per record however many of its changes queued up.

Because the values sent are read after the lease is taken, a redelivered or late key sends the
state as it is now: a later value is never overwritten by an earlier one, and a key delivered
twice costs a repeated write of the same value, nothing else. A record without a state (it left
the score's segments) is cleared in HubSpot; one deleted here is skipped.

A batch HubSpot keeps refusing fails only its own keys (the queue redelivers them, then its DLQ
keeps them); keys that meet a held lease are deferred — put back on the queue for later, which
is contention, not failure. "Push all" messages (sent when a portal is connected) walk a live
score's states page by page, each page's message naming the next.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from healthscore.adapters.dynamo_tables import join_key, split_key
from healthscore.adapters.hubspot_errors import HubSpotUnavailable
from healthscore.domain.dataset import RecordKey
from healthscore.domain.hubspot_writeback import ScoreValue, batch_inputs
from healthscore.domain.integrations import HubSpotConnection
from healthscore.ports import HealthScoreStore
from healthscore.services.hubspot_writeback import WritableCrm, ensure_properties
from healthscore.services.score_writes import LiveRevision, LiveRevisions

LEASE = "writeback"
LEASE_SECONDS = 120.0  # longer than the function's timeout: a pusher holds it while it runs
PUSH_ALL_PAGE = 1_000  # states a "push all" message sends before handing on to the next


@dataclass(frozen=True)
class Queued:
    """One write-back message: a record to push, or a page of a whole score to push."""

    message_id: str
    account: str
    definition_id: str
    key: RecordKey | None = None  # None: push every state, after `after`
    after: RecordKey | None = None


def parse_message(message_id: str, body: str) -> Queued:
    """`{"history": "<account#definition#type#id>"}` (the stream's key of a history entry) or
    `{"account", "definition_id", "all": true, "after": [type, id]?}` (push a whole score)."""
    data = json.loads(body)
    if "history" in data:
        account, definition_id, object_type, record_id = split_key(str(data["history"]))
        return Queued(message_id, account, definition_id, (object_type, record_id))
    after = tuple(data["after"]) if data.get("after") else None
    return Queued(message_id, str(data["account"]), str(data["definition_id"]), None, after)


def push_all_message(account: str, definition_id: str, after: RecordKey | None = None) -> str:
    body: dict[str, Any] = {"account": account, "definition_id": definition_id, "all": True}
    if after is not None:
        body["after"] = list(after)
    return json.dumps(body)


def history_message(account: str, definition_id: str, key: RecordKey) -> str:
    return json.dumps({"history": join_key(account, definition_id, *key)})


@dataclass
class Pushed:
    done: set[str] = field(default_factory=set)  # message ids handled (written, or nothing to do)
    deferred: set[str] = field(default_factory=set)  # the lease was held: send again later
    failed: set[str] = field(default_factory=set)  # HubSpot kept refusing: redeliver
    # the next pages of "push all": (the message that asked, the next page's message)
    follow_ups: list[tuple[str, str]] = field(default_factory=list)
    records: int = 0
    batches: int = 0
    skipped: int = 0  # no connection, write-back off, score not live, record deleted


class Pusher:
    def __init__(
        self,
        store: HealthScoreStore,
        crm_for: Callable[[HubSpotConnection], WritableCrm],
        holder: str,
    ) -> None:
        self.store, self.crm_for, self.holder = store, crm_for, holder
        self.revisions = LiveRevisions(store)
        self.ensured: set[tuple[str, str, int]] = set()  # (account, definition, revision)

    def push(self, queued: Iterable[Queued]) -> Pushed:
        result = Pushed()
        by_account: dict[str, list[Queued]] = {}
        for item in queued:
            by_account.setdefault(item.account, []).append(item)
        for account, items in sorted(by_account.items()):
            ids = {item.message_id for item in items}
            connection = self.store.hubspot_connection(account)
            if connection is None or not connection.writeback:
                result.done |= ids
                result.skipped += len(items)
                continue
            if not self.store.take_lease(account, LEASE, self.holder, LEASE_SECONDS):
                result.deferred |= ids
                continue
            try:
                crm = self.crm_for(connection)
            except HubSpotUnavailable:  # its token cannot be read: the DLQ keeps them
                self.store.release_lease(account, LEASE, self.holder)
                result.failed |= ids
                continue
            try:
                self._account(account, crm, items, result)
            finally:
                self.store.release_lease(account, LEASE, self.holder)
        return result

    def _account(self, account: str, crm: WritableCrm, items: list[Queued], result: Pushed) -> None:
        lives = {live.id: live for live in self.revisions.of(account)}
        by_definition: dict[str, list[Queued]] = {}
        for item in items:
            by_definition.setdefault(item.definition_id, []).append(item)
        for definition_id, its in sorted(by_definition.items()):
            live = lives.get(definition_id)
            if live is None:  # turned off (or deleted) since: nothing of it to show
                result.done |= {i.message_id for i in its}
                result.skipped += len(its)
                continue
            try:
                self._ensure(account, crm, live)
                keys = [i.key for i in its if i.key is not None and i.key[0] == live.object_type]
                result.skipped += self._send(account, crm, live, keys, result)
                for page in (i for i in its if i.key is None):
                    follow = self._page(account, crm, live, page.after, result)
                    if follow is not None:
                        message = push_all_message(account, definition_id, follow)
                        result.follow_ups.append((page.message_id, message))
            except HubSpotUnavailable:
                result.failed |= {i.message_id for i in its}
                continue
            result.done |= {i.message_id for i in its}

    def _ensure(self, account: str, crm: WritableCrm, live: LiveRevision) -> None:
        marker = (account, live.id, live.revision)
        if marker not in self.ensured:
            ensure_properties(crm, live.definition)
            self.ensured.add(marker)

    def _send(
        self,
        account: str,
        crm: WritableCrm,
        live: LiveRevision,
        keys: list[RecordKey],
        result: Pushed,
    ) -> int:
        """Push the stored state of each record (cleared if it has none but still exists); how
        many were skipped (deleted here: nothing to show them on)."""
        wanted = sorted(set(keys))
        values: list[ScoreValue] = []
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            states = self.store.score_states(account, [(live.id, key) for key in chunk])
            missing = [key for key in chunk if (live.id, key) not in states]
            present = {r.key for r in self.store.records(account, missing)} if missing else set()
            for key in chunk:
                state = states.get((live.id, key))
                if state is not None:
                    values.append(ScoreValue(key[1], state.score, state.status or ""))
                elif key in present:  # out of the score's segments: no score in HubSpot either
                    values.append(ScoreValue(key[1], None, ""))
        self._write(crm, live, values, result)
        return len(wanted) - len(values)

    def _page(
        self,
        account: str,
        crm: WritableCrm,
        live: LiveRevision,
        after: RecordKey | None,
        result: Pushed,
    ) -> RecordKey | None:
        """One page of a whole score's states; the key to continue after (None: the last)."""
        states = self.store.score_page(account, live.id, after, PUSH_ALL_PAGE)
        values = [ScoreValue(s.key[1], s.score, s.status or "") for s in states]
        self._write(crm, live, values, result)
        return states[-1].key if len(states) == PUSH_ALL_PAGE else None

    def _write(
        self, crm: WritableCrm, live: LiveRevision, values: list[ScoreValue], result: Pushed
    ) -> None:
        for batch in batch_inputs(live.definition, values):
            crm.batch_update(live.object_type, batch)
            result.batches += 1
            result.records += len(batch)
