"""Running a queued job, whatever its kind: a recompute (turn-on, update), a reconciliation or
an export for analysts.

All arrive on the recompute queue as `{"account_id", "job_id"}`; the job item says which.
`start_reconciliation` queues a reconciliation of each live score of an account (the nightly
run, or on demand); each reconciliation, once done, queues an export of its score (the nightly
export analysts download)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from healthscore.adapters.dataset_export import ExportStorage
from healthscore.domain.definition import DefinitionError
from healthscore.domain.lifecycle import Job
from healthscore.ports import HealthScoreStore
from healthscore.services import recompute
from healthscore.services.definitions import JobStarter
from healthscore.services.exports import EXPORT, run_export, start_export
from healthscore.services.reconcile import ReconcileReport, reconcile
from healthscore.services.score_writes import LiveRevisions

RECONCILE = "reconcile"


def run_job(
    store: HealthScoreStore,
    account: str,
    job_id: str,
    as_of: datetime | None = None,
    exports: ExportStorage | None = None,
    shard_size: int = recompute.SHARD_SIZE,
    settle: recompute.Settle = recompute.wait_out,
    datasets: ExportStorage | None = None,
    start_job: JobStarter | None = None,
) -> ReconcileReport | None:
    """Run a queued job to the end in this process, recording its outcome on the job item;
    a reconciliation's report. Exports go to `datasets`; `start_job` queues the export a
    reconciliation leaves (none without it)."""
    job = store.job(account, job_id)
    if job is not None and job.kind == EXPORT:
        if datasets is None:
            raise RuntimeError("an export job needs the storage analysts' exports go to")
        run_export(store, datasets, account, job_id, as_of or datetime.now(UTC))
        return None
    if job is None or job.kind != RECONCILE:
        recompute.run_job(store, account, job_id, as_of, exports, shard_size, settle)
        return None
    if begin_reconciliation(store, account, job) is None:
        return None
    assert job.definition_id is not None  # begin_reconciliation saw it
    try:
        report = reconcile(
            store,
            account,
            job.definition_id,
            job_id,
            as_of or datetime.now(UTC),
            exports,
            shard_size,
        )
    except (DefinitionError, LookupError) as error:
        recompute.end_job(store, account, job_id, {"error": str(error)}, failed=True)
        return None
    end_reconciliation(store, account, job_id, report, start_job)
    return report


def end_reconciliation(
    store: HealthScoreStore,
    account: str,
    job_id: str,
    report: ReconcileReport,
    start_job: JobStarter | None,
) -> None:
    """Record the report on the job; with `start_job`, queue the export of the score it left."""
    detail = report.to_json()
    if start_job is not None:
        export = start_export(store, start_job, account, report.definition_id, datetime.now(UTC))
        detail["export_job"] = export.id
    recompute.end_job(store, account, job_id, detail)


def is_reconciliation(store: HealthScoreStore, account: str, job_id: str) -> bool:
    job = store.job(account, job_id)
    return job is not None and job.kind == RECONCILE


def begin_reconciliation(store: HealthScoreStore, account: str, job: Job) -> str | None:
    """Mark a reconciliation running; its score's id, or None when there is nothing to do (it
    already succeeded: a redelivered message)."""
    if job.status == "succeeded" or not job.definition_id:
        return None
    job.status, job.updated_at = "running", datetime.now(UTC)
    store.save_job(account, job)
    return job.definition_id


def start_reconciliation(
    store: HealthScoreStore, start_job: JobStarter, account: str, at: datetime
) -> list[Job]:
    """Queue a reconciliation of each of the account's live scores; the jobs."""
    jobs = []
    for live in LiveRevisions(store).of(account):
        job = Job(f"job_{uuid.uuid4().hex[:16]}", RECONCILE, "queued", at, at, live.id, {})
        store.save_job(account, job)
        start_job(account, job.id)
        jobs.append(job)
    return jobs


def start_nightly(
    store: HealthScoreStore,
    start_job: JobStarter,
    at: datetime,
    skipped: frozenset[str] = frozenset(),
) -> list[tuple[str, Job]]:
    """The nightly run: a reconciliation of each live score of every account that has one,
    except the `skipped` accounts (opted out); (account, job) of each."""
    return [
        (account, job)
        for account in store.accounts_with_live_scores()
        if account not in skipped
        for job in start_reconciliation(store, start_job, account, at)
    ]
