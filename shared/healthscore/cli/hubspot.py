"""`healthscore hubspot …`: a HubSpot portal into a portable dataset (backfill, then sync)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from healthscore.cli.common import _fail, app, err, out

if TYPE_CHECKING:
    from healthscore.adapters.hubspot_crm import HubSpotCrm

BaseUrlOpt = Annotated[
    str | None, typer.Option(help="HubSpot's API (default https://api.hubapi.com)")
]
TokenEnvOpt = Annotated[
    str, typer.Option(help="Environment variable holding the private app's token")
]

hubspot_app = typer.Typer(help="HubSpot in: import a portal's CRM (private-app token).")
app.add_typer(hubspot_app, name="hubspot")


def _crm(base_url: str | None, token_env: str) -> HubSpotCrm:
    """The SDK-backed client for the token in `token_env` (exit 2 saying what is missing)."""
    try:
        from healthscore.adapters.hubspot_crm import HubSpotCrm
    except ImportError:
        _fail("HubSpot's SDK is missing: pip install 'healthscore[hubspot]'")
    token = os.environ.get(token_env, "")
    if not token:
        _fail(f"the environment variable {token_env} is empty or unset: export the token into it")
    return HubSpotCrm(token, base_url)


@hubspot_app.command("import")
def hubspot_import(
    to: Annotated[Path, typer.Option("--to", help="The dataset folder to fill (or sync)")],
    definition: Annotated[
        list[Path] | None,
        typer.Option(
            "--definition", "-d", help="A definition whose properties to fetch (repeatable)"
        ),
    ] = None,
    segments: Annotated[
        Path | None,
        typer.Option(help="segments.jsonl: their properties are fetched, the file is copied"),
    ] = None,
    base_url: BaseUrlOpt = None,
    token_env: TokenEnvOpt = "HUBSPOT_TOKEN",
) -> None:
    """Fetch companies, contacts, deals and tickets (the properties the definitions and segments
    read), their associations with labels, and calls, meetings, emails and notes as events.
    Run it again to resume a run that stopped, or to sync what changed since the last one."""
    from healthscore.adapters.dataset_files import RowError, parse_segment
    from healthscore.cli.common import _definition
    from healthscore.domain.hubspot_mapping import properties_read
    from healthscore.services.hubspot_import import import_portal

    crm = _crm(base_url, token_env)
    from healthscore.adapters.hubspot_errors import HubSpotUnavailable

    parsed = [_definition(path) for path in definition or []]
    read_segments = []
    if segments is not None:
        try:
            lines = segments.read_text().splitlines()
        except OSError as error:
            _fail(f"--segments {segments}: {error.strerror}")
        for number, line in enumerate(lines, 1):
            try:
                if line.strip():
                    read_segments.append(parse_segment(json.loads(line)))
            except (ValueError, RowError) as error:
                _fail(f"--segments {segments}:{number}: {error}")
    to.mkdir(parents=True, exist_ok=True)
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(finished_text="✓"), TextColumn("{task.description:<22}"))
    with Progress(
        *columns, TextColumn("{task.completed:>9,}"), TimeElapsedColumn(), console=err
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, count: int) -> None:
            if phase not in tasks:
                for earlier in tasks.values():  # phases run one after the other
                    bar.update(earlier, total=bar.tasks[earlier].completed)
                tasks[phase] = bar.add_task(phase, total=None)
            bar.update(tasks[phase], completed=count)

        try:
            result = import_portal(
                crm, to, properties_read(parsed, read_segments), progress=progress
            )
        except HubSpotUnavailable as error:
            _fail(f"{error} — run the same command again to resume where it stopped")
        for task in tasks.values():
            bar.update(task, total=bar.tasks[task].completed)
    if segments is not None:
        shutil.copyfile(segments, to / "segments.jsonl")
    kind = "synced (changes since the last run)" if result.incremental else "imported"
    out.print(
        f"{kind}: {result.records:,} records, {result.associations:,} associations, "
        f"{result.events:,} events in {to} — {result.requests:,} requests"
        + (f", {crm.throttled:,} rate-limited and retried" if crm.throttled else "")
    )


@hubspot_app.command("writeback")
def hubspot_writeback(
    dataset: Annotated[Path, typer.Argument(help="The dataset folder to score (e.g. imported)")],
    definition: Annotated[Path, typer.Option("--definition", "-d", help="The live score")],
    as_of: Annotated[str | None, typer.Option(help="Score as of (ISO); default now")] = None,
    base_url: BaseUrlOpt = None,
    token_env: TokenEnvOpt = "HUBSPOT_TOKEN",
) -> None:
    """Score the dataset and write every record's score and status to HubSpot: the property
    group and the two properties first (created, or brought up to date), then batch updates
    of 100 records."""
    from healthscore.cli.common import _as_of, _definition, _scored
    from healthscore.domain.hubspot_writeback import ScoreValue
    from healthscore.services.hubspot_writeback import write_back
    from healthscore.services.scoring import Engine, score_rows

    crm = _crm(base_url, token_env)
    from healthscore.adapters.hubspot_errors import HubSpotUnavailable

    parsed = _definition(definition)
    moment = _as_of(as_of)
    rows = _scored(lambda: score_rows(parsed, dataset, moment, Engine.POLARS), definition)
    values = [ScoreValue(r["id"], r["score"], r["status"]) for r in rows]
    try:
        result = write_back(crm, parsed, values)
    except HubSpotUnavailable as error:
        _fail(f"{error} — run it again: a write-back sets values, so repeating it is harmless")
    made = ", ".join(result.created) or "none"
    out.print(
        f"wrote {result.records:,} {parsed.object_type}' scores in {result.batches:,} batch "
        f"update{'s' if result.batches != 1 else ''} ({crm.requests:,} requests); "
        f"properties created: {made}"
        + (f"; updated: {', '.join(result.updated)}" if result.updated else "")
    )


@hubspot_app.command("fake")
def hubspot_fake(
    companies: Annotated[int, typer.Option(help="Sample companies the portal holds")] = 50,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8787,
    sample: Annotated[
        Path, typer.Option(help="Where the sample portfolio it serves is written")
    ] = Path(".healthscore/hubspot-sample"),
    token_file: Annotated[
        Path, typer.Option(help="Where the portal's private-app token is written")
    ] = Path(".healthscore/hubspot-token"),
    seed: Annotated[int, typer.Option(help="The sample's seed")] = 7,
) -> None:
    """A fake HubSpot portal on this machine (for trying the connector without a portal): the
    sample portfolio's records, labelled associations and engagements, served with HubSpot's
    endpoints, pagination and rate limits. Ctrl-C stops it."""
    import secrets
    import time

    from healthscore.adapters.dataset_files import read_dataset
    from healthscore.dev.fake_hubspot import Portal, serve
    from healthscore.dev.sample_portfolio import generate_portfolio

    generate_portfolio(sample, companies, seed=seed)
    portal = Portal.from_dataset(read_dataset(sample))
    token = f"pat-fake-{secrets.token_hex(8)}"
    try:
        server = serve(portal, port, token)
    except OSError as error:
        _fail(f"cannot listen on 127.0.0.1:{port}: {error}; choose another --port")
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(token + "\n")
    out.print(f"fake HubSpot on http://127.0.0.1:{port} with {companies} companies")
    out.print(
        f"  its token is in {token_file}; the sample it serves (segments.jsonl too): {sample}"
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("stopping")
    finally:
        server.shutdown()
