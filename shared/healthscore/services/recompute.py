"""The computation a job runs when a score is turned on or updated: score every in-scope record
of the account with the live revision and write back only what changed, each change with a
history entry whose cause is `recompute`.

This version reads the account from DynamoDB and scores with the reference engine, one
process; the sharded Polars recompute over a dataset export replaces the scoring step for large
accounts (issue 5). What is written, and the history it leaves, stay the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from healthscore.adapters.dynamo_store import DynamoStore, now
from healthscore.adapters.dynamo_tables import join_key
from healthscore.adapters.score_files import score_row
from healthscore.domain.definition import DefinitionError, parse_definition
from healthscore.domain.reference_engine import RecordScore, score


@dataclass(frozen=True, slots=True)
class RecomputeSummary:
    scored: int
    changed: int
    unchanged: int
    left_scope: int


def run_job(store: DynamoStore, account: str, job_id: str, as_of: datetime | None = None) -> None:
    """Run a queued job to the end, recording its outcome on the job item."""
    job = store.job(account, job_id)
    if job is None or job.status == "succeeded":
        return  # a redelivered message of a finished job
    # "running" again means the last attempt died mid-way: writes compare before writing, so
    # running it again finishes the work without repeating history.
    job.status, job.updated_at = "running", now()
    job.save()
    try:
        summary = recompute(store, account, job.definition_id or "", job_id, as_of or now())
    except (DefinitionError, LookupError) as error:
        job.status, job.detail = "failed", {"error": str(error)}
    else:
        job.status, job.detail = "succeeded", asdict(summary)
    job.updated_at = now()
    job.save()


def recompute(
    store: DynamoStore, account: str, definition_id: str, cause_job: str, as_of: datetime
) -> RecomputeSummary:
    item = store.definition(account, definition_id)
    if item is None or item.live is None or item.state != "live":
        raise LookupError(f"health score {definition_id!r} is not live")
    definition = parse_definition(item.live)
    results = score(definition, store.dataset(account), as_of)
    existing = {stored.sk: stored for stored in store.scores(account, definition_id)}
    changed = 0
    cause = {"kind": "recompute", "job": cause_job, "revision": int(item.live_revision)}
    at = now()
    for result in results:
        key = join_key(result.object_type, result.id)
        before = existing.pop(key, None)
        if before is not None and _same(before, result):
            continue
        changed += 1
        write_score(store, account, definition_id, result, before, cause, at)
    for gone in existing.values():
        gone.delete()
    return RecomputeSummary(
        scored=len(results),
        changed=changed,
        unchanged=len(results) - changed,
        left_scope=len(existing),
    )


def _same(item: Any, result: RecordScore) -> bool:
    due = result.next_change_day.isoformat() if result.next_change_day else None
    return bool(
        int(item.score) == result.score
        and item.status == result.status
        and item.groups == score_row(result)["groups"]
        and item.due_day == due
    )


def write_score(
    store: DynamoStore,
    account: str,
    definition_id: str,
    result: RecordScore,
    before: Any,
    cause: dict[str, Any],
    at: datetime,
) -> None:
    """Write a record's new score state; a change of score or status also appends history."""
    key = (result.object_type, result.id)
    item = before if before is not None else store.new_score(account, definition_id, key)
    old_score = int(before.score) if before is not None else None
    old_status = before.status if before is not None else None
    item.score, item.status, item.color = result.score, result.status, result.color
    item.groups = score_row(result)["groups"]
    if result.next_change_day is not None:
        item.due_day = result.next_change_day.isoformat()
        item.due_key = join_key(account, definition_id, *key)
    else:
        item.due_day = item.due_key = None
    moved = old_score != result.score or old_status != result.status
    if moved:
        delta = result.score - (old_score or 0)
        item.changed_at = at
        item.change = {"delta": delta, "status_before": old_status, "cause": cause}
    item.updated_at = at
    store.save(item)
    if moved:
        store.append_history(
            account,
            definition_id,
            key,
            at,
            {
                "at": at.isoformat(),
                "before": old_score,
                "after": result.score,
                "delta": result.score - (old_score or 0),
                "status_before": old_status,
                "status_after": result.status,
                "cause": cause,
            },
        )
