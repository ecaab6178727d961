"""`healthscore export`: download a live score's portfolio from a deployment (or the local
stack) as a portable dataset with its stored scores, for the notebooks and the CLI."""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer

from healthscore.cli.common import _fail, app, err, out
from healthscore.cli.remote import HttpFailure, TokenFileOpt, http, read_token

POLL_EVERY = 0.5  # seconds between reads of the export


@app.command("export")
def export_command(
    api: Annotated[
        str, typer.Option("--api", "--url", help="The API's base URL (the stack's ApiUrl)")
    ],
    token_file: TokenFileOpt,
    to: Annotated[Path, typer.Option("--to", help="The folder to download the dataset into")],
    definition_id: Annotated[
        str | None,
        typer.Option("--definition-id", help="Export this live health score's portfolio now"),
    ] = None,
    job: Annotated[
        str | None,
        typer.Option("--job", help="Download an export already made, by its job id"),
    ] = None,
    latest: Annotated[
        bool,
        typer.Option(
            "--latest", help="With --definition-id: download its newest export (the nightly one)"
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for the export")
    ] = 900,
) -> None:
    """Export a live score's portfolio (records, associations, events, segments, overrides,
    the definition and the stored scores as scores.parquet) and download it into a folder —
    or download one already made (`--job`, or `--latest` for the score's newest): exit 0 when
    downloaded, 1 when the export failed, 2 on bad input or a timeout."""
    if (definition_id is None) == (job is None):
        _fail("give --definition-id (export now) or --job (an export already made), not both")
    if latest and definition_id is None:
        _fail("--latest needs --definition-id (whose newest export to download)")
    token = read_token(token_file)
    base = api.rstrip("/")
    try:
        if latest:
            _status, found = http(f"{base}/definitions/{definition_id}/exports/latest", token=token)
            job = str(found["id"])
        elif job is None:
            _status, started = http(
                f"{base}/exports", "POST", {"definition_id": definition_id}, token
            )
            job = str(started["id"])
            err.print(f"export {job} queued")
        done = _wait(base, job, token, timeout)
    except HttpFailure as error:
        _fail(f"export: {error}")
    if done["status"] == "failed":
        out.print(f"[red]export {job} failed:[/] {(done.get('detail') or {}).get('error')}")
        raise typer.Exit(code=1)
    to.mkdir(parents=True, exist_ok=True)
    for file in done["files"]:
        _download(file, to)
    detail = done["detail"]
    out.print(
        f"downloaded export {job} of {detail['definition_id']} into {to}: "
        f"{detail['records']:,} records, {detail['scores']:,} stored scores, "
        f"as of {detail['as_of']}",
        soft_wrap=True,
    )
    out.print(  # one line, to copy
        f"  score it: healthscore score {to} --definition {to / 'definition.json'} "
        f"--as-of {detail['as_of']} --format parquet --output scored.parquet",
        soft_wrap=True,
    )


def _wait(base: str, job: str, token: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _status, found = http(f"{base}/exports/{job}", token=token)
        if found["status"] in ("succeeded", "failed"):
            return dict(found)
        if time.monotonic() >= deadline:
            _fail(f"export {job} is still {found['status']} after {timeout:g} s")
        time.sleep(POLL_EVERY)


def _download(file: dict[str, Any], folder: Path) -> None:
    name = Path(str(file["name"])).name  # a file name, never a path out of the folder
    target = folder / name
    try:
        with (
            urllib.request.urlopen(str(file["url"]), timeout=300) as reply,
            target.open("wb") as out_file,
        ):
            shutil.copyfileobj(reply, out_file)
    except (urllib.error.URLError, OSError) as error:
        _fail(f"cannot download {name}: {getattr(error, 'reason', error)}")
    size = target.stat().st_size
    if size != int(file["bytes"]):
        _fail(f"{name}: downloaded {size:,} bytes, the export has {int(file['bytes']):,}")
