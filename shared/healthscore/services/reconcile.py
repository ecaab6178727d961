"""Reconciliation: the batch truth against the stored score states, record by record.

The incremental path (scorer, sweep) keeps each state current one change at a time; nothing in
it re-derives a state from scratch. Reconciliation does: it exports the account in the portable
format (the recompute's sharded export), scores every shard with the Polars batch engine as of
the run's instant, and compares each in-scope record with its stored state — score and status
(the computed ones, whatever an override shows), group totals, next change day, stale inputs and
the tally itself (both compacted to the run's day). A difference is **drift**: it is repaired
(the state rewritten from the batch result and a freshly built tally, history cause
`reconcile` naming what differed) and reported. A record in scope without a state, or a state
whose record left scope, is drift too. Drift should be zero: the report is a bug detector for
the incremental path, not a routine fix-up.

What is not compared, because it is not wrong: a state from an older revision (its recompute is
pending), and a state due on or before the run's day (the sweep has not reached it yet). Each
state is read once, before the export; a repair is conditional on the version read, so a state
that changed while the run read is left alone and counted (`changed_during_run`) — the next run
compares it.

Three steps, as the recompute's (on AWS the state machine runs them, one Lambda invocation each,
the shards side by side): **plan** reads every state of the score once, exports the account in
shards and leaves each shard's states beside its data; **shard** compares one shard's records
with their states (a record and its state are in the same shard: both are placed by the
record's id), repairs and reports; **finish** adds the shards' reports up. `reconcile` runs them
one after the other in this process.

The run also leaves the day's **snapshot** (domain/snapshots.py): every in-scope record's
effective score and status as the batch engine computed them, counted per segment of the score
by the shards and added up by finish (a 101-bin histogram per segment, so the median is exact).
"""

from __future__ import annotations

import base64
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from healthscore.adapters.dataset_export import (
    ExportStorage,
    LocalExports,
    Manifest,
    shard_name,
    shard_of,
)
from healthscore.domain.dataset import Record, RecordKey
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.overrides import effective, next_day
from healthscore.domain.score_state import NewScore, ScoreState
from healthscore.domain.snapshots import PortfolioCounts
from healthscore.domain.tallies import Tally, build_tally, compact
from healthscore.domain.tally_storage import decode_tally
from healthscore.ports import ScoreStore, WriteRefused
from healthscore.services.recompute import SHARD_SIZE, live_of, plan, scored_shard
from healthscore.services.score_writes import LiveRevision, ScoreWrite

FIRST_DRIFTS = 100  # drifted records the report shows in full


@dataclass
class Drift:
    record_id: str
    differed: list[str]  # score, status, groups, next change day, stale inputs, tally, …
    stored: dict[str, Any] | None  # None: no state was stored
    computed: dict[str, Any] | None  # None: the record is out of scope


@dataclass
class ReconcileReport:
    definition_id: str
    compared: int = 0
    drifted: int = 0
    repaired: int = 0
    changed_during_run: int = 0
    pending: int = 0  # older revision (recompute pending) or due by the run's day (the sweep's)
    first: list[Drift] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None  # the day's aggregates of every in-scope record

    def add(self, drift: Drift) -> None:
        self.drifted += 1
        if len(self.first) < FIRST_DRIFTS:
            self.first.append(drift)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def reconcile(
    store: ScoreStore,
    account: str,
    definition_id: str,
    job_id: str,
    as_of: datetime,
    exports: ExportStorage | None = None,
    shard_size: int = SHARD_SIZE,
) -> ReconcileReport:
    """Compare every stored state of a live score with the batch engine's result as of `as_of`,
    repairing drift: plan, every shard, finish, in this process."""
    with tempfile.TemporaryDirectory(prefix="healthscore-reconcile-") as work:
        storage = exports or LocalExports(Path(work))
        manifest = plan_reconciliation(
            store, storage, account, definition_id, job_id, as_of, shard_size
        )
        for shard in range(manifest.shards):
            reconcile_shard(store, storage, manifest, shard)
        return finish_reconciliation(store, storage, manifest)


def plan_reconciliation(
    store: ScoreStore,
    storage: ExportStorage,
    account: str,
    definition_id: str,
    job_id: str,
    as_of: datetime,
    shard_size: int = SHARD_SIZE,
) -> Manifest:
    """Step 1: every state read once (before the export, so a change after it shows as a newer
    version), the sharded export, and each shard's states beside it."""
    states = list(store.scores(account, definition_id))
    manifest = plan(store, storage, account, definition_id, job_id, as_of, shard_size)
    by_shard: list[list[dict[str, Any]]] = [[] for _ in range(manifest.shards)]
    for state in states:
        by_shard[shard_of(state.key[1], manifest.shards)].append(state_json(state))
    for shard, shard_states in enumerate(by_shard):
        storage.put_json(f"{job_id}/{shard_name(shard)}/states.json", shard_states)
    return manifest


def reconcile_shard(
    store: ScoreStore, storage: ExportStorage, manifest: Manifest, shard: int
) -> ReconcileReport:
    """Step 2 for one shard: its records against their states (and states whose record left
    scope); its report, also left in storage for the finish."""
    definition, revision = live_of(store, manifest.account_id, manifest.definition_id)
    folder = f"{manifest.job_id}/{shard_name(shard)}"
    stored = {
        state.key[1]: state
        for state in map(state_from_json, storage.get_json(f"{folder}/states.json"))
    }
    report = ReconcileReport(manifest.definition_id)
    counts = PortfolioCounts()
    scored = _shard(store, storage, manifest, shard, definition, revision, stored, report, counts)
    as_of = datetime.fromisoformat(manifest.as_of)
    live = LiveRevision(manifest.definition_id, revision, definition, ())
    cause = _cause(manifest.job_id, ["out of scope"])
    for record_id, state in sorted(stored.items()):
        if record_id in scored or state.revision != revision:
            continue
        report.compared += 1
        report.add(Drift(record_id, ["out of scope"], _shown(state), None))
        _repair(
            store, manifest.account_id, live, state.key, state, None, None, as_of, cause, report
        )
    storage.put_json(f"{folder}/reconciled.json", report.to_json() | {"counts": counts.to_json()})
    return report


def finish_reconciliation(
    store: ScoreStore, storage: ExportStorage, manifest: Manifest
) -> ReconcileReport:
    """Step 3: the shards' reports added up (the first drifted records in shard order), and the
    day's snapshot of the portfolio saved."""
    total = ReconcileReport(manifest.definition_id)
    counts = PortfolioCounts()
    for shard in range(manifest.shards):
        part = storage.get_json(f"{manifest.job_id}/{shard_name(shard)}/reconciled.json")
        for name in ("compared", "repaired", "changed_during_run", "pending"):
            setattr(total, name, getattr(total, name) + int(part[name]))
        total.drifted += int(part["drifted"])
        room = FIRST_DRIFTS - len(total.first)
        total.first += [Drift(**drift) for drift in part["first"][:room]]
        counts.merge(PortfolioCounts.from_json(part["counts"]))
    definition, _revision = live_of(store, manifest.account_id, manifest.definition_id)
    rows = counts.rows(
        datetime.fromisoformat(manifest.as_of).date(),
        definition.segments,
        [threshold.label for threshold in definition.thresholds],
    )
    store.save_snapshots(manifest.account_id, manifest.definition_id, rows)
    total.snapshot = rows[0].to_json()
    return total


def _shard(
    store: ScoreStore,
    storage: ExportStorage,
    manifest: Manifest,
    shard: int,
    definition: ScoreDefinition,
    revision: int,
    stored: dict[str, ScoreState],
    report: ReconcileReport,
    counts: PortfolioCounts,
) -> set[str]:
    as_of = datetime.fromisoformat(manifest.as_of)
    scored = scored_shard(storage, manifest, shard, definition, revision)
    dataset, live = scored.dataset, scored.live
    ids: set[str] = set()
    for record_id, new in scored.scores:
        ids.add(record_id)
        key = (manifest.object_type, record_id)
        state = stored.get(record_id)
        _count(counts, definition, live, dataset.record(key), new, state, as_of)
        if state is not None and (
            state.revision != revision or (state.due_day and state.due_day <= as_of.date())
        ):
            report.pending += 1
            continue
        report.compared += 1
        tally = build_tally(definition, dataset, dataset.record(key), live.segments)
        differed = _differences(definition, state, new, tally, as_of)
        if not differed:
            continue
        report.add(Drift(record_id, differed, _shown(state), _computed(new)))
        cause = _cause(manifest.job_id, differed, state, new)
        _repair(store, manifest.account_id, live, key, state, new, tally, as_of, cause, report)
    return ids


def _count(
    counts: PortfolioCounts,
    definition: ScoreDefinition,
    live: LiveRevision,
    record: Record,
    new: NewScore,
    state: ScoreState | None,
    as_of: datetime,
) -> None:
    """The record in the day's snapshot: the batch result (the truth as of the run, whatever
    was stored) under the override stored for it, in each of the score's segments it is in."""
    override = None if state is None else state.current_override()
    shown = effective(definition, new.score, new.status, new.color, override, as_of)
    segments = [s.id for s in live.segments if s.matches(record, as_of.date())]
    counts.add(shown.score, shown.status, shown.override is not None, bool(new.stale), segments)


def _differences(
    definition: ScoreDefinition,
    state: ScoreState | None,
    new: NewScore,
    tally: Tally,
    as_of: datetime,
) -> list[str]:
    if state is None:
        return ["missing"]
    score, status = state.computed
    # an override's expiry is a change day too: the stored day is the earlier of the two
    override = state.current_override()
    overrides = [override] if override is not None and as_of < override.expires_at else []
    due = next_day(new.next_change_day, overrides, as_of)
    checks = [
        ("score", score == new.score),
        ("status", status == new.status),
        ("groups", state.groups == new.groups),
        ("next change day", state.due_day == due),
        ("stale inputs", list(state.stale) == list(new.stale)),
        ("tally", _same_tally(definition, state.tallies, tally, as_of.date())),
    ]
    return [name for name, same in checks if not same]


def _same_tally(
    definition: ScoreDefinition, stored: bytes | None, fresh: Tally, today: date
) -> bool:
    if stored is None:
        return False
    kept = decode_tally(stored)
    built = Tally(
        events={k: v.copy() for k, v in fresh.events.items()},
        records={k: v.copy() for k, v in fresh.records.items()},
        properties=dict(fresh.properties),
        lists=fresh.lists,
        changed=dict(fresh.changed),
    )
    kept.totals = built.totals = None  # what a tally scored on its day is not part of it
    compact(definition, kept, today)
    compact(definition, built, today)
    return kept == built


def _shown(state: ScoreState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    score, status = state.computed
    return {
        "score": score,
        "status": status,
        "groups": state.groups,
        "next_change_day": state.due_day.isoformat() if state.due_day else None,
        "stale": list(state.stale),
    }


def _computed(new: NewScore) -> dict[str, Any]:
    return {
        "score": new.score,
        "status": new.status,
        "groups": new.groups,
        "next_change_day": new.next_change_day.isoformat() if new.next_change_day else None,
        "stale": list(new.stale),
    }


def _cause(
    job_id: str,
    differed: list[str],
    state: ScoreState | None = None,
    new: NewScore | None = None,
) -> dict[str, Any]:
    summary = f"reconciled: {', '.join(differed)} differed from the batch result"
    if state is not None and new is not None and state.computed != (new.score, new.status):
        score, status = state.computed
        summary += f" (stored {score} {status}, computed {new.score} {new.status})"
    return {"kind": "reconcile", "summary": summary, "job": job_id, "differed": differed}


def _repair(
    store: ScoreStore,
    account: str,
    live: LiveRevision,
    key: RecordKey,
    state: ScoreState | None,
    new: NewScore | None,
    tally: Tally | None,
    at: datetime,
    cause: dict[str, Any],
    report: ReconcileReport,
) -> None:
    """One conditional write on the version read: refused, the state changed while the run read
    (not repaired; the next run compares it)."""
    unit = ScoreWrite(store, account, at, cause)
    if new is None:
        unit.write_state(live, key, state, None, at.date())
    else:
        unit.write_scored(live, key, state, new, tally, force_history=True)
    try:
        unit.commit()
    except WriteRefused:
        report.changed_during_run += 1
        return
    report.repaired += 1


def state_json(state: ScoreState) -> dict[str, Any]:
    """A state as JSON, exactly (the plan step hands it to the shard step through storage)."""
    data = asdict(state)
    data["key"] = list(state.key)
    data["tallies"] = None if state.tallies is None else base64.b64encode(state.tallies).decode()
    for name in ("due_day", "changed_at", "updated_at"):
        value = getattr(state, name)
        data[name] = None if value is None else value.isoformat()
    return data


def state_from_json(data: dict[str, Any]) -> ScoreState:
    values = dict(data)
    values["key"] = (data["key"][0], data["key"][1])
    values["tallies"] = None if data["tallies"] is None else base64.b64decode(data["tallies"])
    values["due_day"] = None if data["due_day"] is None else date.fromisoformat(data["due_day"])
    for name in ("changed_at", "updated_at"):
        values[name] = None if data[name] is None else datetime.fromisoformat(data[name])
    return ScoreState(**values)
