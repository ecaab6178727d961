"""`healthscore jobs wait ID`: wait until a deployment's job (turning a score on, publishing an
update) has run — instead of guessing with `sleep`."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from healthscore.cli.common import _fail, app, out
from healthscore.cli.remote import HttpFailure, TokenFileOpt, UrlOpt, http, read_token

jobs_app = typer.Typer(help="The recompute jobs of a deployment (or of the local stack).")
app.add_typer(jobs_app, name="jobs")

POLL_EVERY = 0.5  # seconds between reads of the job


@jobs_app.command("wait")
def wait_for_job(
    job_id: Annotated[str, typer.Argument(help="The job's id (turn-on and update answer it)")],
    url: UrlOpt,
    token_file: TokenFileOpt,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds before giving up")
    ] = 300,
) -> None:
    """Wait until the job has run: exit 0 when it succeeded (its summary printed), 1 when it
    failed (its error printed), 2 when it is unknown or the wait timed out."""
    token = read_token(token_file)
    deadline = time.monotonic() + timeout
    while True:
        try:
            _status, job = http(f"{url.rstrip('/')}/jobs/{job_id}", token=token)
        except HttpFailure as error:
            _fail(f"job {job_id}: {error}")
        if job["status"] == "succeeded":
            out.print(f"job {job_id} succeeded: {job.get('detail') or {}}")
            return
        if job["status"] == "failed":
            out.print(f"[red]job {job_id} failed:[/] {(job.get('detail') or {}).get('error')}")
            raise typer.Exit(code=1)
        if time.monotonic() >= deadline:
            _fail(f"job {job_id} is still {job['status']} after {timeout:g} s")
        time.sleep(POLL_EVERY)
