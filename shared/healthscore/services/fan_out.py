"""A change's writes, planned first and committed in as many transactions as they need.

Most changes fit one DynamoDB transaction (100 items) and commit all or nothing. A change that
touches more — an event of a contact linked to hundreds of scored companies, a property change
of such a contact — commits in steps: each earlier step writes some of the affected score
states together with a marker per state ("this change was applied here", kept 35 days), and the
last step writes the change itself (the event, the record, the link) with the rest. A retry or
a redelivery plans the change again and skips the states already marked, so every state gets
the change exactly once, however often the steps are interrupted.

Between the steps of one change, a concurrent change to the same contact can be planned against
the contact as it was before; where a rule's association filter reads the property that changed,
the companies it reaches can then differ from a batch recompute until the next one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from healthscore.domain.dataset import AssociationLine, Event, RecordKey, StoredRecord
from healthscore.domain.score_state import ScoreState
from healthscore.ports import MAX_TRANSACTION_ITEMS, ChangeWrites, ScoreStore, TooManyAffected

Target = tuple[str, RecordKey]  # (definition id, record): one score state
Op = tuple[str, tuple[Any, ...]]
LINK_ITEMS = 2  # a link is stored in both directions


def _size(ops: Iterable[Op]) -> int:
    links = ("set_link", "remove_link", "hide_link")
    return sum(LINK_ITEMS if name in links else 1 for name, _ in ops)


@dataclass
class PlannedWrites:
    """`ChangeWrites` recorded, not sent: the change's own writes (`facts`) apart from each score
    state's (`targets`), so they can be replayed into one unit of work or several."""

    facts: list[Op] = field(default_factory=list)
    targets: dict[Target, list[Op]] = field(default_factory=dict)
    target: Target | None = None  # whose writes the next calls are

    def __len__(self) -> int:
        return _size(self.facts) + sum(_size(ops) for ops in self.targets.values())

    def _add(self, name: str, *args: Any) -> None:
        if self.target is None:
            self.facts.append((name, args))
        else:
            self.targets.setdefault(self.target, []).append((name, args))

    def put_event_once(self, event: Event) -> None:
        self._add("put_event_once", event)

    def put_record(self, stored: StoredRecord, at: datetime) -> None:
        self._add("put_record", stored, at)

    def set_link(self, line: AssociationLine, was: str | None, stamp: str, at: datetime) -> None:
        self._add("set_link", line, was, stamp, at)

    def remove_link(self, line: AssociationLine, was: str | None, stamp: str | None) -> None:
        self._add("remove_link", line, was, stamp)

    def hide_link(
        self, line: AssociationLine, was: str | None, deleted: str, stamp: str | None = None
    ) -> None:
        self._add("hide_link", line, was, deleted, stamp)

    def put_state(self, state: ScoreState) -> None:
        self._add("put_state", state)

    def delete_state(self, state: ScoreState) -> None:
        self._add("delete_state", state)

    def append_history(
        self, definition_id: str, key: RecordKey, at: datetime, entry: dict[str, Any]
    ) -> None:
        self._add("append_history", definition_id, key, at, entry)

    def commit(self) -> None:  # pragma: no cover - ScoreWrite commits through commit_planned
        raise TypeError("planned writes are committed with commit_planned")


def replay(ops: Iterable[Op], into: ChangeWrites) -> None:
    for name, args in ops:
        getattr(into, name)(*args)


def commit_planned(
    store: ScoreStore, account: str, plan: PlannedWrites, stamp: str | None
) -> set[Target]:
    """Commit the plan — in one transaction when it fits, else in steps (see the module's
    docstring); the targets whose writes were committed now (the others were before)."""
    if not len(plan):
        return set()  # nothing to write (already applied, or older than what is stored)
    if len(plan) <= MAX_TRANSACTION_ITEMS or stamp is None:
        writes = store.change_writes(account)
        replay(plan.facts, writes)
        for ops in plan.targets.values():
            replay(ops, writes)
        writes.commit()  # over the limit without a stamp: TooManyAffected from the adapter
        return set(plan.targets)
    facts = _size(plan.facts)
    if facts > MAX_TRANSACTION_ITEMS // 2:
        raise TooManyAffected(f"the change itself writes {facts} items; take it in steps")
    done = store.applied_targets(account, stamp, list(plan.targets))
    pending = [t for t in plan.targets if t not in done]
    last: list[Target] = []
    room = MAX_TRANSACTION_ITEMS - facts
    while pending and _size(plan.targets[pending[-1]]) <= room:
        room -= _size(plan.targets[pending[-1]])
        last.append(pending.pop())
    step: list[Target] = []
    room = MAX_TRANSACTION_ITEMS
    for target in pending:  # the earlier steps, each state with its marker
        cost = _size(plan.targets[target]) + 1
        if step and cost > room:
            _commit_step(store, account, plan, step, stamp)
            step, room = [], MAX_TRANSACTION_ITEMS
        step.append(target)
        room -= cost
    if step:
        _commit_step(store, account, plan, step, stamp)
    writes = store.change_writes(account)
    replay(plan.facts, writes)
    for target in last:
        replay(plan.targets[target], writes)
    writes.commit()
    return set(plan.targets) - done


def _commit_step(
    store: ScoreStore, account: str, plan: PlannedWrites, step: list[Target], stamp: str
) -> None:
    writes = store.change_writes(account)
    for target in step:
        replay(plan.targets[target], writes)
        writes.mark_applied(stamp, *target)
    writes.commit()
