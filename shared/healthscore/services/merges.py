"""A merge (HubSpot's `*.merge`): the merged records fold into the primary, as a sequence of
changes that are each idempotent, so a redelivered merge finishes the job.

For each merged record: every link register it holds — present, hidden by a deletion of the
merged record, or a removal's tombstone — moves to the primary with its own stamp (last writer
wins decides it against the primary's own link to the same record, in any order); its events
move to the primary; then it is deleted for good, its tombstone naming the primary. A change
that reaches the merged record later — an event or a link change, of any time — is the
primary's (the scorer follows `merged_into`), so the outcome does not depend on whether a change
arrived before the merge or after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from healthscore.domain.changes import (
    AssociationChanged,
    Change,
    EventArrived,
    RecordDeleted,
    RecordsMerged,
)
from healthscore.domain.dataset import AssociationLine
from healthscore.domain.ordering import change_stamp, parse_stamp
from healthscore.ports import ScoreStore
from healthscore.services.score_writes import THROTTLE_RETRIES, Outcome, until_committed

T = TypeVar("T")


def apply_merge(
    store: ScoreStore,
    apply: Callable[[str, Change], Outcome],
    sleep: Callable[[float], None],
    account: str,
    change: RecordsMerged,
) -> Outcome:
    total = Outcome()
    primary = (change.object_type, change.primary)
    merge_id = change.change_id or change_stamp(change)

    def read(what: Callable[[], T]) -> T:  # throttled reads retried, as the steps are
        return until_committed(
            lambda _n: what(),
            sleep=sleep,
            contention=f"{change.summary}: reads kept failing",
            throttle_retries=THROTTLE_RETRIES,
        )

    for merged_id in change.merged:
        merged = (change.object_type, merged_id)
        if merged == primary:
            continue
        steps: list[Change] = []
        for line, register in read(lambda m=merged: store.link_registers_of(account, m)):  # type: ignore[misc]
            other = (line.to_type, line.to_id)
            if other == primary:
                continue  # the merged record's link to the primary itself
            at_ms, change_id = parse_stamp(register.stamp)
            moved = AssociationLine(*primary, *other, register.labels or ())
            steps.append(
                AssociationChanged(
                    moved,
                    register.labels is None,
                    at_ms if change_id else change.occurred_at_ms,
                    change_id or f"{merge_id}>{merged_id}>{other[0]}/{other[1]}",
                )
            )
        for event in read(lambda m=merged: store.events_of(account, m)):  # type: ignore[misc]
            steps.append(EventArrived(replace(event, object_id=primary[1])))
        steps.append(
            RecordDeleted(*merged, change.occurred_at_ms, f"{merge_id}>{merged_id}", primary[1])
        )
        for step in steps:
            outcome = apply(account, step)
            total.written += outcome.written
            total.history += outcome.history
            total.status_changes += outcome.status_changes
    return total
