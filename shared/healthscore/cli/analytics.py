"""Analytics on the batch engine: overview, preview, whatif, trend, report."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from healthscore.cli.common import (
    AsOfOpt,
    DatasetArg,
    DefinitionOpt,
    _as_of,
    _dataset,
    _definition,
    _fail,
    _frame_table,
    _frames,
    _print_json,
    _scored,
    app,
    err,
    out,
)
from healthscore.domain.definition import DefinitionError
from healthscore.services import analytics
from healthscore.services.scoring import (
    overview,
    score_dataset,
    top_reasons,
)


@app.command("overview")
def overview_command(
    dataset: DatasetArg,
    definition: DefinitionOpt,
    as_of: AsOfOpt = None,
    top: Annotated[int, typer.Option("--top", min=0, help="How many at-risk records to list")] = 10,
) -> None:
    """The status distribution and the most at-risk records with their top reasons."""
    parsed = _definition(definition)
    moment = _as_of(as_of)
    data = _dataset(dataset)
    try:
        results = score_dataset(parsed, data, moment)
    except DefinitionError as error:
        _fail(f"{definition} does not fit this dataset", error.issues)
    summary = overview(parsed, results, lowest=top)
    out.print(
        f"[bold]{parsed.name}[/] as of {moment.date()}: "
        f"{summary.scored:,} {parsed.object_type} scored, "
        f"average {summary.average:.1f}"
    )
    status_table = Table(show_header=True)
    status_table.add_column("status")
    status_table.add_column("records", justify="right")
    status_table.add_column("share", justify="right")
    status_table.add_column("")
    for label, colour, count in summary.by_status:
        share = count / summary.scored if summary.scored else 0.0
        status_table.add_row(
            f"[{colour}]{label}[/]",
            f"{count:,}",
            f"{share:.0%}",
            f"[{colour}]{'█' * round(share * 40)}[/]",
        )
    out.print(status_table)
    if not summary.lowest:
        return
    names = {r.id: r.properties.get("name", "") for r in data.records_of(parsed.object_type)}
    risk = Table(title=f"The {len(summary.lowest)} most at-risk {parsed.object_type}")
    risk.add_column("id")
    risk.add_column("name")
    risk.add_column("score", justify="right")
    risk.add_column("status")
    risk.add_column("top reasons")
    for result in summary.lowest:
        risk.add_row(
            result.id,
            str(names.get(result.id, "")),
            str(result.score),
            f"[{result.color}]{result.status}[/]",
            "\n".join(top_reasons(parsed, result)),
        )
    out.print(risk)


@app.command()
def preview(
    dataset: DatasetArg,
    definition: DefinitionOpt,
    as_of: AsOfOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False,
) -> None:
    """Distribution preview: how many records land in each 5-point bin and each status."""
    parsed = _definition(definition)
    moment = _as_of(as_of)
    frames = _frames(dataset)
    result = _scored(lambda: analytics.preview(parsed, frames, moment), definition)
    if as_json:
        _print_json(
            {
                "scored": result.scored,
                "average": result.average,
                "median": result.median,
                "bins": result.bins.to_dicts(),
                "statuses": result.statuses.to_dicts(),
            }
        )
        return
    out.print(
        f"[bold]{parsed.name}[/] as of {moment.date()}: {result.scored:,} {parsed.object_type} "
        f"scored, average {result.average:g}, median {result.median:g}"
    )
    widest = max(result.bins["count"].max() or 0, 1)
    for low, high, count in result.bins.iter_rows():
        status = parsed.status_for(low)
        bar = "█" * round(40 * count / widest)
        out.print(f"  {low:>3}–{high:<3} [{status.color}]{bar}[/] {count:,}")
    for status, color, minimum, count, share in result.statuses.iter_rows():
        out.print(f"  [{color}]■[/] {status} (≥ {minimum}): {count:,} ({share:g}%)")


@app.command()
def whatif(
    dataset: DatasetArg,
    live: Annotated[Path, typer.Option("--live", help="The live definition JSON file")],
    draft: Annotated[Path, typer.Option("--draft", help="The draft definition JSON file")],
    as_of: AsOfOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="How many movers to list")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False,
) -> None:
    """What-if: which records a draft would move compared with the live definition."""
    live_definition = _definition(live)
    draft_definition = _definition(draft)
    moment = _as_of(as_of)
    frames = _frames(dataset)
    result = _scored(
        lambda: analytics.what_if(live_definition, draft_definition, frames, moment), draft
    )
    if as_json:
        _print_json(
            {
                "compared": result.compared,
                "changed_status": result.changed_status,
                "changed_score": result.changed_score,
                "only_live": result.only_live,
                "only_draft": result.only_draft,
                "transitions": result.transitions.to_dicts(),
                "movers": result.movers.head(limit).to_dicts(),
            }
        )
        return
    out.print(
        f"{draft_definition.name!r} against {live_definition.name!r} as of {moment.date()}: "
        f"{result.compared:,} records compared, [bold]{result.changed_status:,} change status[/], "
        f"{result.changed_score:,} change score"
    )
    if result.only_live or result.only_draft:
        out.print(
            f"  scope: {result.only_live:,} only in the live score's segments, "
            f"{result.only_draft:,} only in the draft's"
        )
    if result.transitions.height:
        out.print(_frame_table("Status changes", result.transitions))
    if result.movers.height:
        out.print(_frame_table(f"Biggest movers (top {limit})", result.movers.head(limit)))


class TrendFormat(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"
    CSV = "csv"


@app.command()
def trend(
    dataset: DatasetArg,
    definition: DefinitionOpt,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The last as-of day (default now)")
    ] = None,
    every: Annotated[int, typer.Option("--every", help="Days between as-of days")] = 7,
    periods: Annotated[int, typer.Option("--periods", help="How many as-of days")] = 52,
    output_format: Annotated[
        TrendFormat,
        typer.Option("--format", "-f", help="table (a summary per day), jsonl or csv (per record)"),
    ] = TrendFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout")
    ] = None,
) -> None:
    """Replay the event log: every record's score at each of a series of past as-of days."""
    parsed = _definition(definition)
    until = _as_of(as_of)
    try:
        days = analytics.trend_days(until, every, periods)
    except ValueError as error:
        _fail(str(error))
    frames = _frames(dataset)
    starts = analytics.first_event_day(frames)
    if starts is not None and days[0].date() < starts:
        err.print(
            f"[yellow]note:[/] the event log starts on {starts}, after the first as-of day "
            f"{days[0].date()}: the days before it see no activity, so their scores are lower "
            "than the data would show (use fewer --periods, or a dataset that starts earlier)"
        )
    history = _scored(lambda: analytics.trend(parsed, frames, days), definition)
    if output_format is TrendFormat.TABLE:
        summary = analytics.trend_summary(parsed, history)
        colors = {t.label: t.color for t in parsed.thresholds}
        table = _frame_table(f"{parsed.name}: trend, every {every} days", summary, colors)
        if output is None:
            out.print(table)
        else:
            with output.open("w", encoding="utf-8") as handle:
                Console(file=handle, width=200).print(table)
        return
    text = history.write_ndjson() if output_format is TrendFormat.JSONL else history.write_csv()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {history.height:,} rows ({len(days)} days) to {output}")


@app.command()
def report(
    dataset: DatasetArg,
    definition: DefinitionOpt,
    by: Annotated[
        str, typer.Option("--by", help="A record property (industry, csm_owner…) or 'segment'")
    ],
    as_of: AsOfOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON")] = False,
) -> None:
    """Average and median score and status mix by a property or by segment."""
    parsed = _definition(definition)
    moment = _as_of(as_of)
    frames = _frames(dataset)
    try:
        rows = _scored(lambda: analytics.report(parsed, frames, moment, by), definition)
    except analytics.UnknownProperty as error:
        _fail(f"--by: {error}")
    if as_json:
        _print_json(rows.to_dicts())
        return
    colors = {t.label: t.color for t in parsed.thresholds}
    out.print(_frame_table(f"{parsed.name} by {by} as of {moment.date()}", rows, colors))
