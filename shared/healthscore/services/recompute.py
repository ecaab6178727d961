"""The computation a job runs when a score is turned on or updated: score every in-scope record
of the account with the live revision and write back only what changed, each change with a
history entry whose cause is `recompute`.

Each state carries the record's tally (built from the stored data), so the scorer and the sweep
carry on from it incrementally. This version reads the account from DynamoDB in one process.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from healthscore.adapters.dynamo_store import DynamoStore, WriteRefused, now
from healthscore.adapters.dynamo_tables import ScoreItem
from healthscore.domain.dataset import RecordKey
from healthscore.domain.definition import DefinitionError, parse_definition
from healthscore.domain.reference_engine import check_against_dataset, in_scope
from healthscore.domain.tallies import Tally, build_tally
from healthscore.domain.values import utc_day
from healthscore.services.incremental import (
    MAX_ATTEMPTS,
    LiveScore,
    ScoringContention,
    Unit,
)


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
    """Every in-scope record's state under the live revision, with its tally; history only where
    score or status moved. A state already at this revision was written by the scorer (or an
    earlier attempt of this job) after the revision went live, from fresher data: it is kept."""
    item = store.definition(account, definition_id)
    if item is None or item.live is None or item.state != "live":
        raise LookupError(f"health score {definition_id!r} is not live")
    definition = parse_definition(item.live)
    revision = int(item.live_revision)
    dataset = store.dataset(account)
    issues = check_against_dataset(definition, dataset)
    if issues:
        raise DefinitionError(issues)
    today = utc_day(as_of)
    segments = [dataset.segments[s] for s in definition.segments]
    live = LiveScore(definition_id, revision, definition, tuple(segments))
    existing = {
        store.state_owner(stored)[2]: stored for stored in store.scores(account, definition_id)
    }
    cause = {
        "kind": "recompute",
        "summary": f"recomputed: revision {revision} of the score went live",
        "job": cause_job,
        "revision": revision,
    }
    scored = changed = 0
    for record in dataset.records_of(definition.object_type):
        if not in_scope(record, segments, today):
            continue
        scored += 1
        before = existing.pop(record.key, None)
        tally = build_tally(definition, dataset, record, segments)
        changed += _write(store, account, live, record.key, before, tally, as_of, cause)
    left = 0
    for key, gone in existing.items():
        left += _write(store, account, live, key, gone, None, as_of, cause)
    return RecomputeSummary(
        scored=scored, changed=changed, unchanged=scored - changed, left_scope=left
    )


def _write(
    store: DynamoStore,
    account: str,
    live: LiveScore,
    key: RecordKey,
    before: ScoreItem | None,
    tally: Tally | None,
    at: datetime,
    cause: dict[str, Any],
) -> int:
    """Write one state (or remove it, tally None) unless it is already at this revision;
    1 when its score or status moved. A lost race reads the state again."""
    for _attempt in range(MAX_ATTEMPTS):
        if before is not None and int(before.revision) == live.revision and tally is not None:
            return 0
        if before is None and tally is None:
            return 0
        unit = Unit(store, account, at, cause)
        unit.write_state(live, key, before, tally, utc_day(at))
        try:
            outcome = unit.commit()
        except WriteRefused:
            before = store.score_states(account, [(live.id, key)]).get((live.id, key))
            continue
        return len(outcome.history)
    raise ScoringContention(f"{key[0]}/{key[1]} kept changing during the recompute")
