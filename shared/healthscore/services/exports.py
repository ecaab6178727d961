"""Exports for analysts: a live score's account as a portable dataset beside its stored scores.

`POST /exports` (and the nightly run, after each reconciliation) queues an `export` job; the job
writes, under `<account>/<job id>/` in the export storage (S3 on AWS, a folder locally):

- the account's dataset (records.jsonl, associations.jsonl, events.jsonl, segments.jsonl,
  property_changes.jsonl) — adapters/account_export.py — and `overrides.jsonl`, the overrides
  in effect on the score's records;
- `definition.json`: the live revision that scored them;
- `scores.parquet`: the **stored** scores (what health cards show), in the batch output's
  columns, ordered by id — the file `healthscore score DIR --definition DIR/definition.json
  --as-of <as_of> --format parquet` writes from the dataset when the stored scores are the batch
  truth at that instant (the nightly reconciliation checks exactly that);
- `snapshots.jsonl`: the score's daily snapshots for the last year (every segment);
- `manifest.json`: what it is, as of when, and the lines of each file.

`GET /exports/{id}` lists the files with a download link each (presigned on S3).
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from healthscore.adapters.account_export import write_account
from healthscore.adapters.dataset_export import ExportStorage
from healthscore.adapters.score_files import with_inputs
from healthscore.domain.access import Caller
from healthscore.domain.definition import DefinitionError, ScoreDefinition
from healthscore.domain.errors import Conflict, InvalidRequest, NotFound
from healthscore.domain.lifecycle import Job
from healthscore.domain.score_state import ScoreState
from healthscore.domain.snapshots import ALL
from healthscore.domain.values import utc_day
from healthscore.ports import HealthScoreStore, ScoreStore
from healthscore.services.definitions import JobStarter
from healthscore.services.score_writes import LiveRevision, LiveRevisions
from healthscore.services.views import job_view

EXPORT = "export"
LATEST = "latest-export"  # a jobs item per score naming its newest finished export
SNAPSHOT_DAYS = 366  # the trend an export carries
OVERRIDE_FIELDS = ("status", "score", "reason", "set_by", "set_at", "expires_at")


def start_export(
    store: HealthScoreStore, start_job: JobStarter, account: str, definition_id: str, at: datetime
) -> Job:
    """Queue an export of a live score's account; the job."""
    job = Job(f"job_{uuid.uuid4().hex[:16]}", EXPORT, "queued", at, at, definition_id, {})
    store.save_job(account, job)
    start_job(account, job.id)
    return job


def run_export(
    store: HealthScoreStore,
    storage: ExportStorage,
    account: str,
    job_id: str,
    as_of: datetime,
) -> dict[str, Any] | None:
    """Run a queued export to the end, recording its outcome on the job; its detail (None when
    there was nothing to do: unknown, or already done)."""
    job = store.job(account, job_id)
    if job is None or job.status == "succeeded" or not job.definition_id:
        return None
    job.status, job.updated_at = "running", datetime.now(UTC)
    store.save_job(account, job)
    try:
        detail = export_score(store, storage, account, job.definition_id, job_id, as_of)
    except (DefinitionError, LookupError) as error:
        detail, job.status = {"error": str(error)}, "failed"
    else:
        job.status = "succeeded"
    job.detail, job.updated_at = detail, datetime.now(UTC)
    store.save_job(account, job)
    if job.status == "succeeded":
        at = job.updated_at
        pointer = Job(latest_id(job.definition_id), LATEST, "succeeded", at, at, job.definition_id)
        pointer.detail = {"job_id": job.id}
        store.save_job(account, pointer)
    return detail


def latest_id(definition_id: str) -> str:
    return f"{LATEST}.{definition_id}"


def export_score(
    store: ScoreStore,
    storage: ExportStorage,
    account: str,
    definition_id: str,
    job_id: str,
    as_of: datetime,
) -> dict[str, Any]:
    """Write and publish the export (see the module's docstring); the job's detail."""
    lives = LiveRevisions(store).of(account)
    live = next((one for one in lives if one.id == definition_id), None)
    found = store.live_definition(account, definition_id)
    if live is None or found is None:
        raise LookupError(f"health score {definition_id!r} is not live: nothing to export")
    raw, revision = found
    definition = live.definition
    # the states read once, each kept only as what the export needs of it (not its tally)
    stored = StoredScores(definition)
    for state in store.scores(account, definition_id):
        stored.add(state)
    name = f"{account}/{job_id}"
    with tempfile.TemporaryDirectory(prefix="healthscore-dataset-") as work:
        folder = Path(work)
        counts = write_account(
            store,
            folder,
            account,
            dated=_dated(lives),
            outputs=_outputs(store, account, lives, {definition_id: stored.outputs}),
        )
        counts["overrides.jsonl"] = _write_lines(folder / "overrides.jsonl", stored.overrides)
        snapshots = [
            row.to_json()
            for segment in (ALL, *definition.segments)
            for row in store.snapshots(
                account, definition_id, utc_day(as_of) - timedelta(days=SNAPSHOT_DAYS), segment
            )
        ]
        counts["snapshots.jsonl"] = _write_lines(folder / "snapshots.jsonl", snapshots)
        # with its id, which overrides.jsonl lines name
        named = {**raw, "id": definition_id}
        (folder / "definition.json").write_text(json.dumps(named, indent=2, ensure_ascii=False))
        counts["scores.parquet"] = stored.write(folder / "scores.parquet")
        manifest = {
            "account_id": account,
            "definition_id": definition_id,
            "definition_name": definition.name,
            "revision": revision,
            "object_type": definition.object_type,
            "as_of": as_of.isoformat(),
            "job_id": job_id,
            "lines": counts,
            "score_it": (
                "healthscore score DIR --definition DIR/definition.json "
                f"--as-of {as_of.isoformat()} --format parquet --output scored.parquet"
            ),
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        files = [
            {"name": path.name, "bytes": path.stat().st_size} for path in sorted(folder.iterdir())
        ]
        storage.publish(name, folder)
    return {
        "definition_id": definition_id,
        "revision": revision,
        "as_of": as_of.isoformat(),
        "records": counts["records.jsonl"],
        "scores": counts["scores.parquet"],
        "location": name,
        "files": files,
    }


class StoredScores:
    """A score's stored states as the export needs them: "scores out" rows (the effective
    score and status; an overridden record's row adds the computed ones and the override, a
    record with stale inputs lists them), the overrides' lines, and its outputs."""

    def __init__(self, definition: ScoreDefinition) -> None:
        self.definition = definition
        self.groups = [group.name for group in definition.groups]
        self.rows: list[dict[str, Any]] = []
        self.overrides: list[dict[str, Any]] = []
        self.outputs: list[tuple[str, int, str | None]] = []  # (record id, score, status)

    def add(self, state: ScoreState) -> None:
        if not state.stored:
            return
        override = state.override
        shown = None if override is None else {k: override.get(k) for k in OVERRIDE_FIELDS}
        self.rows.append(
            with_inputs(
                {
                    "object_type": state.key[0],
                    "id": state.key[1],
                    "score": state.score,
                    "status": state.status,
                    "color": state.color,
                    "groups": {name: state.groups.get(name, 0) for name in self.groups},
                },
                state.computed_score,
                state.computed_status,
                shown,
                list(state.stale),
            )
        )
        if shown is not None:
            line = {"object_type": state.key[0], "id": state.key[1]}
            self.overrides.append(line | {"definition": state.definition_id} | shown)
        self.outputs.append((state.key[1], state.score, state.status))

    def write(self, path: Path) -> int:
        """scores.parquet: the batch output's Parquet file (ordered by id)."""
        from healthscore.adapters.score_files import write_parquet  # Polars: batch work only

        self.rows.sort(key=lambda row: str(row["id"]))
        return write_parquet(self.rows, path, self.groups)


def _dated(lives: Iterable[LiveRevision]) -> dict[str, set[str]]:
    """Object type → the properties the live scores' freshness rules read."""
    dated: dict[str, set[str]] = {}
    for live in lives:
        kind = live.definition.object_type
        dated.setdefault(kind, set()).update(f.property for f in live.definition.freshness)
    return dated


def _outputs(
    store: ScoreStore,
    account: str,
    lives: Iterable[LiveRevision],
    read: dict[str, list[tuple[str, int, str | None]]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """Object type → output property → record id → the stored score or status, for every live
    score (the segments and rules of other scores read them); `read`: those already read."""
    outputs: dict[str, dict[str, dict[str, Any]]] = {}
    for live in lives:
        values = read.get(live.id)
        if values is None:
            values = [
                (s.key[1], s.score, s.status) for s in store.scores(account, live.id) if s.stored
            ]
        properties = live.definition.output_properties()
        of_type = outputs.setdefault(live.definition.object_type, {})
        of_type[properties.score.name] = {record: score for record, score, _ in values}
        of_type[properties.status.name] = {record: status for record, _, status in values}
    return outputs


def _write_lines(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


class Exports:
    """The API's use case: start an export, and see it with its download links."""

    def __init__(
        self,
        store: HealthScoreStore,
        start_job: JobStarter,
        storage: Callable[[], ExportStorage],
    ) -> None:
        self.store, self.start_job, self.storage = store, start_job, storage

    def start(self, caller: Caller, definition_id: Any) -> dict[str, Any]:
        caller.require_manage()
        if not isinstance(definition_id, str) or not definition_id:
            raise InvalidRequest("definition_id", "name the live health score to export")
        item = self.store.definition(caller.account_id, definition_id)
        if item is None:
            raise NotFound(f"no health score {definition_id!r}")
        if item.state != "live":
            raise Conflict(
                f"health score {definition_id!r} is not on: only a live score has stored "
                "scores to export"
            )
        job = start_export(
            self.store, self.start_job, caller.account_id, definition_id, datetime.now(UTC)
        )
        return self.view(job)

    def get(self, caller: Caller, job_id: str) -> dict[str, Any]:
        job = self.store.job(caller.account_id, job_id)
        if job is None or job.kind != EXPORT:
            raise NotFound(f"no export {job_id!r}")
        return self.view(job)

    def latest(self, caller: Caller, definition_id: str) -> dict[str, Any]:
        """The score's newest finished export (the nightly one, or one asked for since)."""
        if self.store.definition(caller.account_id, definition_id) is None:
            raise NotFound(f"no health score {definition_id!r}")
        pointer = self.store.job(caller.account_id, latest_id(definition_id))
        job = (
            None if pointer is None else self.store.job(caller.account_id, pointer.detail["job_id"])
        )
        if job is None:
            raise NotFound(
                f"health score {definition_id!r} has no export yet: POST /exports makes one, "
                "and the nightly run leaves one"
            )
        return self.view(job)

    def view(self, job: Job) -> dict[str, Any]:
        """The job; once it succeeded, each file with a download link."""
        shown = job_view(job)
        files = job.detail.get("files") if job.status == "succeeded" else None
        if files:
            storage = self.storage()
            location = job.detail["location"]
            shown["files"] = [
                {**file, "url": storage.link(f"{location}/{file['name']}")} for file in files
            ]
        else:
            shown["files"] = []
        return shown
