"""The recompute behind turn-on and update: score the account's portfolio with the live revision
using the Polars batch engine, in shards, and write back only the states that changed.

Three steps, each one Lambda invocation on AWS (a Step Functions distributed map runs the shards
side by side); locally `run_job` runs them one after the other in this process:

1. **plan** — once no change planned with the score as it was can still commit (`settle`),
   export the account from DynamoDB in the portable format, already split into shards of about
   `SHARD_SIZE` scored records (adapters/dataset_export.py), plus a manifest;
2. **shard** — for one shard: the batch engine scores every in-scope record; a state is written
   only where score, status, groups or next change day moved (history cause `recompute`), with
   the record's tally so the scorer and the sweep carry on incrementally. A state already at
   this revision was written by the scorer after the revision went live, from fresher data: it
   is kept. An unchanged state from an older revision is left alone; its tally is rebuilt on its
   next change;
3. **finish** — states of records no longer in scope (and not rewritten since) are removed.

Only this module (and the recompute function) imports Polars, inside the shard step.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from healthscore.adapters.dataset_export import (
    ExportStorage,
    LocalExports,
    Manifest,
    export_shards,
    shard_name,
    shard_of,
)
from healthscore.adapters.dataset_files import read_dataset
from healthscore.domain.dataset import Dataset, RecordKey
from healthscore.domain.definition import (
    DefinitionError,
    ScoreDefinition,
)
from healthscore.domain.reference_engine import check_segments
from healthscore.domain.score_state import NewScore, ScoreState, rule_name
from healthscore.domain.tallies import Tally, build_tally
from healthscore.domain.validation import parse_definition
from healthscore.domain.values import points_json, utc_day
from healthscore.ports import HealthScoreStore, ScoreStore, WriteRefused
from healthscore.services.score_writes import (
    ATTEMPT_SECONDS,
    IN_FLIGHT,
    LiveRevision,
    LiveRevisions,
    ScoreWrite,
    until_committed,
)

SHARD_SIZE = 2_000  # scored records per shard: a few seconds of work and well under 1 GB
# Scorers keep the live scores per live marker and commit within ATTEMPT_SECONDS of reading it
# (services/score_writes.py). A change planned with the score as it was before this job's change
# commits within that time plus the marker's replication lag (well under a second), so an
# export begun this long after the change holds everything such a change stored.
SETTLE_SECONDS = 6 * ATTEMPT_SECONDS
Settle = Callable[[datetime], None]  # given when the score changed, wait until it is safe to export


def wait_out(
    changed_at: datetime,
    seconds: float = SETTLE_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """`Settle` where scorers are other processes (AWS): wait until `seconds` after the change."""
    left = (changed_at + timedelta(seconds=seconds) - datetime.now(UTC)).total_seconds()
    if left > 0:
        sleep(left)


def wait_in_process(changed_at: datetime) -> None:
    """`Settle` where the scorers are this process's (the local stack): wait for the changes
    that read the live marker before the score changed (none, mostly)."""
    IN_FLIGHT.wait_before(changed_at)


class JobSuperseded(LookupError):
    """The score changed revision (or went off) since the job was planned."""


@dataclass
class ShardSummary:
    scored: int = 0
    changed: int = 0  # history entries written (score or status moved)
    written: int = 0  # states written


@dataclass(frozen=True, slots=True)
class RecomputeSummary:
    scored: int
    changed: int
    unchanged: int
    left_scope: int
    shards: int = 1


def run_job(
    store: HealthScoreStore,
    account: str,
    job_id: str,
    as_of: datetime | None = None,
    exports: ExportStorage | None = None,
    shard_size: int = SHARD_SIZE,
    settle: Settle = wait_out,
) -> None:
    """Run a queued job to the end in this process, recording its outcome on the job item."""
    definition_id = start_job(store, account, job_id, settle)
    if definition_id is None:
        return
    try:
        summary = recompute(
            store, account, definition_id, job_id, as_of or datetime.now(UTC), exports, shard_size
        )
    except (DefinitionError, LookupError) as error:
        end_job(store, account, job_id, {"error": str(error)}, failed=True)
    else:
        end_job(store, account, job_id, asdict(summary))


def start_job(
    store: HealthScoreStore, account: str, job_id: str, settle: Settle = wait_out
) -> str | None:
    """Mark the job running, once `settle` says no change planned with the score as it was
    before the job can still commit; its definition id, or None when there is nothing to do
    (unknown, or already succeeded: a redelivered message). "running" again means the last
    attempt died mid-way: every step is idempotent, so running it again finishes the work
    without repeating history."""
    job = store.job(account, job_id)
    if job is None or job.status == "succeeded":
        return None
    settle(job.created_at)  # the job is created right after the score's change
    job.status, job.updated_at = "running", datetime.now(UTC)
    store.save_job(account, job)
    return job.definition_id or ""


def end_job(
    store: HealthScoreStore, account: str, job_id: str, detail: dict[str, Any], failed: bool = False
) -> None:
    job = store.job(account, job_id)
    if job is None:
        return
    job.status, job.detail, job.updated_at = (
        ("failed" if failed else "succeeded"),
        detail,
        datetime.now(UTC),
    )
    store.save_job(account, job)


def recompute(
    store: ScoreStore,
    account: str,
    definition_id: str,
    job_id: str,
    as_of: datetime,
    exports: ExportStorage | None = None,
    shard_size: int = SHARD_SIZE,
) -> RecomputeSummary:
    """Plan, every shard, finish — in this process (the local stack, tests, small accounts)."""
    with tempfile.TemporaryDirectory(prefix="healthscore-recompute-") as work:
        storage = exports or LocalExports(Path(work))
        manifest = plan(store, storage, account, definition_id, job_id, as_of, shard_size)
        for shard in range(manifest.shards):
            score_shard(store, storage, manifest, shard)
        return finish(store, storage, manifest)


def live_of(store: ScoreStore, account: str, definition_id: str) -> tuple[ScoreDefinition, int]:
    live = store.live_definition(account, definition_id)
    if live is None:
        raise JobSuperseded(f"health score {definition_id!r} is not live")
    raw, revision = live
    return parse_definition(raw), revision


def plan(
    store: ScoreStore,
    storage: ExportStorage,
    account: str,
    definition_id: str,
    job_id: str,
    as_of: datetime,
    shard_size: int = SHARD_SIZE,
) -> Manifest:
    """Step 1: export the account in shards; the manifest the other steps read."""
    definition, revision = live_of(store, account, definition_id)
    segments = {s.id: s for s in store.segment_list(account)}
    issues = check_segments(definition, segments)
    if issues:
        raise DefinitionError(issues)
    return export_shards(
        store,
        storage,
        account=account,
        definition_id=definition_id,
        revision=revision,
        job_id=job_id,
        object_type=definition.object_type,
        as_of=as_of.isoformat(),
        shard_size=shard_size,
        dated=[f.property for f in definition.freshness],
        outputs=upstream_values(store, account, definition_id),
    )


def upstream_values(
    store: ScoreStore, account: str, definition_id: str
) -> dict[str, dict[str, Any]]:
    """Other live scores' outputs this score reads on its records: property → record id →
    the stored score or status (one read of each such score's states)."""
    live = next((r for r in LiveRevisions(store).of(account) if r.id == definition_id), None)
    values: dict[str, dict[str, Any]] = {}
    for upstream_id, name, kind in live.upstream if live is not None else ():
        values[name] = {
            state.key[1]: state.score if kind == "score" else state.status
            for state in store.scores(account, upstream_id)
        }
    return values


def _cause(manifest: Manifest) -> dict[str, Any]:
    return {
        "kind": "recompute",
        "summary": f"recomputed: revision {manifest.revision} of the score went live",
        "job": manifest.job_id,
        "revision": manifest.revision,
    }


@dataclass
class ScoredShard:
    """One shard's dataset and the batch engine's result for each of its scored records."""

    dataset: Dataset
    live: LiveRevision  # the revision scored, with the shard's segments
    scores: list[tuple[str, NewScore]]  # (record id, what its state is set to)


def scored_shard(
    storage: ExportStorage,
    manifest: Manifest,
    shard: int,
    definition: ScoreDefinition,
    revision: int,
) -> ScoredShard:
    """Score one exported shard with the batch engine as of the manifest's instant."""
    from healthscore.adapters.dataset_frames import frames_from_dataset
    from healthscore.domain.batch_engine import score_frames

    dataset = read_dataset(storage.fetch(f"{manifest.job_id}/{shard_name(shard)}"))
    result = score_frames(
        definition, frames_from_dataset(dataset), datetime.fromisoformat(manifest.as_of)
    )
    segments = tuple(dataset.segments[s] for s in definition.segments)
    names = [group.name for group in definition.groups]
    rules = [
        rule_name(group.name, rule.id, rule.summary())
        for group in definition.groups
        for rule in group.rules
    ]
    scores = [
        (
            str(row["id"]),
            NewScore(
                int(row["score"]),
                str(row["status"]),
                str(row["color"]),
                {n: points_json(row[c]) for n, c in zip(names, result.group_columns, strict=True)},
                {n: points_json(row[c]) for n, c in zip(rules, result.rule_columns, strict=True)},
                row["next_change_day"],
                tuple(row["stale"]),
            ),
        )
        for row in result.frame.to_dicts()
    ]
    live = LiveRevision(manifest.definition_id, revision, definition, segments)
    return ScoredShard(dataset, live, scores)


def score_shard(
    store: ScoreStore, storage: ExportStorage, manifest: Manifest, shard: int
) -> ShardSummary:
    """Step 2 for one shard (idempotent: run again, it writes nothing new)."""
    definition, revision = live_of(store, manifest.account_id, manifest.definition_id)
    if revision != manifest.revision:
        raise JobSuperseded(f"revision {revision} went live after this job was planned")
    account = manifest.account_id
    as_of = datetime.fromisoformat(manifest.as_of)
    scored = scored_shard(storage, manifest, shard, definition, revision)
    dataset, live = scored.dataset, scored.live
    summary = ShardSummary(scored=len(scored.scores))
    scored_ids: list[str] = []
    for start in range(0, len(scored.scores), 100):
        chunk = scored.scores[start : start + 100]
        keys = [(manifest.object_type, record_id) for record_id, _new in chunk]
        existing = store.score_states(account, [(live.id, key) for key in keys])
        for (record_id, new), key in zip(chunk, keys, strict=True):
            scored_ids.append(record_id)
            before = existing.get((live.id, key))
            if before is not None and (before.revision == revision or _same(before, new)):
                continue
            tally = build_tally(definition, dataset, dataset.record(key), live.segments)
            moved = _write(store, account, live, key, before, new, tally, as_of, _cause(manifest))
            summary.written += moved is not None
            summary.changed += bool(moved)
    storage.put_json(
        f"{manifest.job_id}/{shard_name(shard)}/scored.json",
        {"ids": scored_ids, "changed": summary.changed, "written": summary.written},
    )
    return summary


def finish(store: ScoreStore, storage: ExportStorage, manifest: Manifest) -> RecomputeSummary:
    """Step 3: remove the states of records that left scope; sum up the job."""
    definition, revision = live_of(store, manifest.account_id, manifest.definition_id)
    live = LiveRevision(manifest.definition_id, revision, definition, ())
    scored: dict[int, set[str]] = {}
    left = changed = total = 0
    for shard in range(manifest.shards):
        done = storage.get_json(f"{manifest.job_id}/{shard_name(shard)}/scored.json")
        scored[shard] = set(done["ids"])
        total += len(done["ids"])
        changed += int(done["changed"])
    as_of = datetime.fromisoformat(manifest.as_of)
    for state in store.scores(manifest.account_id, manifest.definition_id):
        key = state.key
        if state.revision == revision or key[1] in scored[shard_of(key[1], manifest.shards)]:
            continue
        left += 1
        _write(store, manifest.account_id, live, key, state, None, None, as_of, _cause(manifest))
    return RecomputeSummary(
        scored=total,
        changed=changed,
        unchanged=total - changed,
        left_scope=left,
        shards=manifest.shards,
    )


def _same(state: ScoreState, new: NewScore) -> bool:
    """Nothing to write: the computed score (an override keeps its own) and what it shows."""
    return (
        state.computed == (new.score, new.status)
        and state.groups == new.groups
        and state.stale == list(new.stale)
        and state.override is None
        and state.due_day == new.next_change_day
    )


def _write(
    store: ScoreStore,
    account: str,
    live: LiveRevision,
    key: RecordKey,
    before: ScoreState | None,
    new: NewScore | None,
    tally: Tally | None,
    at: datetime,
    cause: dict[str, Any],
) -> bool | None:
    """Write one state (or remove it: `new` None) unless the scorer got there first (it is
    already at this revision). True when score or status moved, None when nothing was written.
    A lost race reads the state again."""
    current = before

    def attempt(_n: int) -> bool | None:
        if current is not None and current.revision > live.revision:
            return None  # a newer revision went live: its own recompute writes this state
        if current is not None and current.revision == live.revision and new is not None:
            return None
        if current is None and new is None:
            return None
        unit = ScoreWrite(store, account, at, cause)
        if new is None:
            unit.write_state(live, key, current, None, utc_day(at))
        else:
            unit.write_scored(live, key, current, new, tally)
        return bool(unit.commit().history)

    def read_again(_refused: WriteRefused, _n: int) -> bool | None:
        nonlocal current
        current = store.score_states(account, [(live.id, key)]).get((live.id, key))
        return None

    return until_committed(
        attempt,
        sleep=time.sleep,
        contention=f"{key[0]}/{key[1]} kept changing during the recompute",
        on_refused=read_again,
    )
