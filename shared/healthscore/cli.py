"""`healthscore`: validate, score and explain health scores over a portable dataset.

Exit codes: 0 success, 1 the command ran but found nothing to show (a record out of scope),
2 bad input (an invalid definition, an unknown segment, a bad dataset row, a bad option).
Data goes to stdout; messages and errors go to stderr, except for `validate`, whose verdict is
its output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from healthscore.adapters.dataset_files import DatasetError
from healthscore.adapters.score_files import (
    write_csv,
    write_jsonl,
    write_parquet,
)
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.batch_engine import Frames
from healthscore.domain.dataset import Dataset
from healthscore.domain.definition import (
    DefinitionError,
    Issue,
    ScoreDefinition,
)
from healthscore.domain.reference_engine import GroupResult, RecordScore, RuleResult
from healthscore.domain.templates import (
    TEMPLATES,
    UnknownTemplate,
    definition_from_templates,
    template_group,
)
from healthscore.domain.validation import validate_definition
from healthscore.domain.values import parse_as_of
from healthscore.services import analytics
from healthscore.services.scoring import (
    Engine,
    RecordNotFound,
    explain_record,
    load_dataset,
    load_definition,
    load_frames,
    overview,
    read_definition_json,
    score_dataset,
    score_rows,
    top_reasons,
)

app = typer.Typer(
    name="healthscore",
    help="Customer health scores: validate definitions, score portfolios, explain a record.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Tables stay readable when piped (rich would otherwise assume 80 columns).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


DatasetArg = Annotated[
    Path,
    typer.Argument(help="Dataset folder (records/associations/events/segments .jsonl or .parquet)"),
]
DefinitionOpt = Annotated[
    Path, typer.Option("--definition", "-d", help="Score definition JSON file")
]
EngineOpt = Annotated[
    Engine,
    typer.Option(
        "--engine", help="polars (default): the batch engine; reference: record by record"
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Score as of this ISO date or datetime (no offset = UTC); default now"
    ),
]


def _fail(message: str, issues: list[Issue] | None = None, *, console: Console = err) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}")
    for issue in issues or []:
        console.print(f"  [red]•[/] [bold]{issue.path or '(definition)'}[/]: {issue.message}")
    raise typer.Exit(code=2)


def _as_of(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_as_of(text)
    except ValueError as error:
        _fail(f"--as-of: {error}")


def _definition(path: Path) -> ScoreDefinition:
    try:
        return load_definition(path)
    except DefinitionError as error:
        _fail(f"{path}: the definition is not valid", error.issues)


def _dataset(path: Path) -> Dataset:
    try:
        return load_dataset(path)
    except DatasetError as error:
        _fail(f"the dataset cannot be read:\n{error}")


@app.command()
def validate(
    definition: Annotated[Path, typer.Argument(help="Score definition JSON file")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON")] = False,
) -> None:
    """Check a definition file: exit 0 with a summary, or exit 2 with every problem."""
    try:
        raw = read_definition_json(definition)
    except DefinitionError as error:
        parsed, issues = None, error.issues
    else:
        parsed, issues = validate_definition(raw)
    if as_json:
        verdict = {"valid": parsed is not None, "errors": [i.as_dict() for i in issues]}
        out.print_json(json.dumps(verdict))
        raise typer.Exit(code=0 if parsed is not None else 2)
    if parsed is None:
        out.print(
            f"[bold red]✗ {definition}[/] is not a valid definition "
            f"({len(issues)} problem{'s' if len(issues) != 1 else ''}):"
        )
        for issue in issues:
            out.print(f"  [red]•[/] [bold]{issue.path or '(definition)'}[/]: {issue.message}")
        raise typer.Exit(code=2)
    rules = sum(len(g.rules) for g in parsed.groups)
    props = parsed.output_properties()
    out.print(
        f"[bold green]✓ {definition}[/] is valid: [bold]{parsed.name}[/] ({parsed.object_type})"
    )
    out.print(f"  segments: {', '.join(parsed.segments)}")
    for group in parsed.groups:
        decay = (
            f", decays {group.decay.percent}% every {group.decay.every.describe()}"
            if group.decay
            else ""
        )
        out.print(
            f"  {group.kind} group [bold]{group.name}[/]: {len(group.rules)} rule(s), "
            f"max {group.max_points} points{decay}"
        )
    out.print(f"  {len(parsed.groups)} groups, {rules} rules")
    out.print("  statuses: " + ", ".join(f"{t.label} ≥ {t.min}" for t in parsed.thresholds))
    out.print(f"  writes properties {props.score.name} and {props.status.name}")


@app.command()
def score(
    dataset: DatasetArg,
    definition: DefinitionOpt,
    as_of: AsOfOpt = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="jsonl (default), table, csv or parquet")
    ] = OutputFormat.JSONL,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout")
    ] = None,
    engine: EngineOpt = Engine.POLARS,
) -> None:
    """Score every in-scope record; one line per record, ordered by id."""
    if output_format is OutputFormat.PARQUET and output is None:
        _fail("--format parquet needs --output PATH (Parquet is not written to a terminal)")
    parsed = _definition(definition)
    moment = _as_of(as_of)
    rows = _scored(lambda: score_rows(parsed, dataset, moment, engine), definition)
    if output_format is OutputFormat.PARQUET:
        assert output is not None
        write_parquet(rows, output)
    elif output_format is OutputFormat.TABLE:
        table = _scores_table(parsed, rows)
        if output is None:
            out.print(table)
        else:
            with output.open("w", encoding="utf-8") as handle:
                Console(file=handle, width=200).print(table)
    else:
        writer = write_jsonl if output_format is OutputFormat.JSONL else write_csv
        if output is None:
            writer(rows, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                writer(rows, handle)
    if output is not None:
        err.print(f"wrote {len(rows)} scores to {output}")


def _scores_table(definition: ScoreDefinition, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{definition.name} — {len(rows)} scored {definition.object_type}")
    table.add_column("id")
    table.add_column("score", justify="right")
    table.add_column("status")
    for group in definition.groups:
        table.add_column(group.name, justify="right")
    for row in rows:
        table.add_row(
            row["id"],
            str(row["score"]),
            f"[{row['color']}]{row['status']}[/]",
            *(str(points) for points in row["groups"].values()),
        )
    return table


T = TypeVar("T")


def _scored(run: Callable[[], T], definition: Path) -> T:
    """Run an engine, turning what the user can fix into exit code 2 with the reason."""
    try:
        return run()
    except DefinitionError as error:
        _fail(f"{definition} does not fit this dataset", error.issues)
    except DatasetError as error:
        _fail(f"the dataset cannot be read:\n{error}")


@app.command()
def explain(
    dataset: DatasetArg,
    definition: DefinitionOpt,
    record: Annotated[str, typer.Option("--record", "-r", help="Id of the record to explain")],
    as_of: AsOfOpt = None,
) -> None:
    """Test a record: its score, status and where every point came from."""
    parsed = _definition(definition)
    moment = _as_of(as_of)
    data = _dataset(dataset)
    try:
        explanation = explain_record(parsed, data, record, moment)
    except DefinitionError as error:
        _fail(f"{definition} does not fit this dataset", error.issues)
    except RecordNotFound as error:
        _fail(str(error))
    result = explanation.result
    if result is None:
        out.print(
            f"{parsed.object_type} {record} has no {parsed.name!r}: it is in none of the "
            f"score's segments ({', '.join(explanation.segments)})."
        )
        raise typer.Exit(code=1)
    out.print(_breakdown_tree(parsed, result, moment.date()))


def _breakdown_tree(definition: ScoreDefinition, result: RecordScore, as_of: date) -> Tree:
    tree = Tree(
        f"[bold]{definition.name}[/] for {result.object_type} [bold]{result.id}[/] as of {as_of}: "
        f"[bold]{result.score}[/] → [bold {result.color}]{result.status}[/]"
    )
    for group in result.groups:
        tree.add(_group_branch(group))
    change = (
        result.next_change_day.isoformat() if result.next_change_day else "none (only new input)"
    )
    tree.add(f"[dim]next change without new input: {change}[/]")
    return tree


def _group_branch(group: GroupResult) -> Tree:
    capped = (
        f" [yellow](capped at ±{group.max_points}; "
        f"rules sum to {group.uncapped_hundredths / 100:g})[/]"
        if group.cap_applied
        else ""
    )
    branch = Tree(
        f"[bold]{group.name}[/] ({group.kind}): {group.points:g} of max {group.max_points}{capped}"
    )
    for rule in group.rules:
        branch.add(_rule_line(rule))
    return branch


def _rule_line(rule: RuleResult) -> str:
    noun = "event" if rule.kind == "event" else "record"
    if rule.reads_self:  # a rule on the record's own properties holds or it does not
        values = rule.records[0].matched_values if rule.records else ()
        shown = f" ({', '.join(str(v) for v in values)})" if values else ""
        detail = [f"holds{shown}" if rule.records else "does not hold"]
    else:
        detail = [f"{rule.matched} {noun}{'s' if rule.matched != 1 else ''} counted"]
    if rule.frequency_met is not None:
        detail.append("frequency met" if rule.frequency_met else "frequency not met")
    if rule.decayed_events:
        before = sum(e.base_points for e in rule.events)
        detail.append(f"{rule.decayed_events} decayed ({before} points before decay)")
    if rule.aggregation != "sum" and rule.matched:
        detail.append(rule.aggregation)
    if rule.limit_applied:
        detail.append(f"limit {rule.limit} applied (was {rule.uncapped_hundredths / 100:g})")
    colour = "green" if rule.hundredths > 0 else "red" if rule.hundredths < 0 else "dim"
    return f"[{colour}]{rule.points:+g}[/] {rule.description} — {'; '.join(detail)}"


@app.command("sample-data")
def sample_data(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the dataset into")],
    companies: Annotated[
        int, typer.Option("--companies", "-n", min=1, max=1_000_000, help="How many companies")
    ] = 1000,
    seed: Annotated[
        int, typer.Option("--seed", help="Same seed, size and --until: same files")
    ] = 7,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Last day of the year of events (default today, UTC)"),
    ] = None,
) -> None:
    """Generate a realistic synthetic portfolio: companies, people, deals, tickets, events."""
    end = _as_of(until).date() if until else None
    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=companies < 5000) as progress:
        task = progress.add_task("companies", total=companies)
        summary = generate_portfolio(
            out_dir, companies, seed=seed, until=end, progress=lambda n: progress.advance(task, n)
        )
    err.print(
        f"wrote {out_dir}: {summary.companies:,} companies, {summary.contacts:,} contacts, "
        f"{summary.deals:,} deals, {summary.tickets:,} tickets, "
        f"{summary.associations:,} associations, "
        f"{summary.events:,} events"
    )


@app.command()
def templates(
    name: Annotated[str | None, typer.Argument(help="Print this pre-defined group as JSON")] = None,
) -> None:
    """List the pre-defined groups, or print one as JSON to start a definition from."""
    if name is not None:
        try:
            group = template_group(name)
        except UnknownTemplate as error:
            _fail(str(error.args[0]))
        out.print_json(json.dumps(group))
        return
    table = Table(title="Pre-defined groups")
    table.add_column("group")
    table.add_column("kind")
    table.add_column("max", justify="right")
    table.add_column("rules", justify="right")
    table.add_column("what it scores")
    for template in TEMPLATES.values():
        table.add_row(
            template["name"],
            template["kind"],
            str(template["max_points"]),
            str(len(template["rules"])),
            template["description"],
        )
    out.print(table)
    out.print()


@app.command()
def new(
    output: Annotated[Path, typer.Argument(help="Definition file to write")],
    name: Annotated[str, typer.Option("--name", help="The score's name")] = "Customer health score",
    segment: Annotated[
        list[str] | None, typer.Option("--segment", "-s", help="Segment id (repeat for up to 5)")
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group", "-g", help="Pre-defined group to include (repeat; default all five)"
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file")] = False,
) -> None:
    """Write a new companies definition built from the pre-defined groups."""
    if output.exists() and not force:
        _fail(f"{output} exists; pass --force to overwrite it")
    try:
        raw = definition_from_templates(name, segment or ["seg-all-companies"], templates=group)
    except UnknownTemplate as error:
        _fail(str(error.args[0]))
    parsed, issues = validate_definition(raw)
    if parsed is None:
        _fail("that combination is not a valid definition", issues)
    output.write_text(
        json.dumps(parsed.model_dump(exclude_none=True), indent=2, ensure_ascii=False) + "\n"
    )
    err.print(
        f"wrote {output}: {parsed.name} with groups {', '.join(g.name for g in parsed.groups)}"
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


__all__ = ["app"]


# ---------------------------------------------------------------------------------------------
# Analytics (batch engine)


def _frames(dataset: Path) -> Frames:
    return _scored(lambda: load_frames(dataset), dataset)


def _frame_table(title: str, frame: pl.DataFrame, colors: dict[str, str] | None = None) -> Table:
    table = Table(title=title)
    for name, dtype in frame.schema.items():
        style = (colors or {}).get(name)
        header = f"[{style}]{name}[/]" if style else name
        table.add_column(header, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str, indent=2) + "\n")


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


class Backend(StrEnum):
    AUTO = "auto"
    DYNAMODB_LOCAL = "dynamodb-local"
    MOTO = "moto"


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port of the HTTP API on 127.0.0.1")] = 3000,
    backend: Annotated[
        Backend,
        typer.Option(help="dynamodb-local (needs Java), moto, or auto: DynamoDB Local if it can"),
    ] = Backend.AUTO,
    account: Annotated[str, typer.Option(help="Account the printed dev token is for")] = "demo",
    token_file: Annotated[Path, typer.Option(help="Where to write the admin dev token")] = Path(
        ".healthscore/token"
    ),
) -> None:
    """Run the API locally: tables and queues from template.yaml, the real handlers, dev tokens."""
    from healthscore.adapters.dynamodb_local import DynamoDBLocalMissing
    from healthscore.dev.local_stack import LocalStack

    root = Path.cwd()
    if not (root / "template.yaml").exists():
        _fail("run `healthscore serve` from the repository root (where template.yaml is)")
    try:
        stack = LocalStack.start(root, backend=backend.value)
    except DynamoDBLocalMissing as error:
        _fail(str(error))
    try:
        stack.serve(port)
    except OSError as error:
        stack.stop()
        _fail(f"cannot listen on 127.0.0.1:{port}: {error}; choose another --port")
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(stack.token(account) + "\n")
    viewer_file = token_file.with_name("viewer-token")
    viewer_file.write_text(stack.token(account, "viewer@localhost", manage=False) + "\n")
    url = f"http://127.0.0.1:{port}"
    out.print(f"[bold]healthscore API[/] on {url}  (DynamoDB: {stack.backend})")
    out.print(f"  Swagger UI   {url}/docs     OpenAPI  {url}/openapi.json")
    out.print(f"  admin token for account {account!r} written to {token_file}")
    out.print(f"  read-only token (no manage permission) written to {viewer_file}")
    out.print(f'  try: curl -H "Authorization: Bearer $(cat {token_file})" {url}/definitions')
    out.print("Ctrl-C stops it; data lives in memory and goes with it.")
    try:
        while True:
            import time

            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("stopping")
    finally:
        stack.stop()


# -- the local stack's clock and webhooks (talk to a running `healthscore serve`) ---------------

clock_app = typer.Typer(help="The local stack's scoring clock (decay and timeframes on demand).")
webhook_app = typer.Typer(help="Signed webhooks into the local stack.")
app.add_typer(clock_app, name="clock")
app.add_typer(webhook_app, name="webhook")
LocalUrl = Annotated[str, typer.Option("--url", help="The running `healthscore serve`")]
DEFAULT_URL = "http://127.0.0.1:3000"


def _local(url: str, path: str, method: str = "GET", body: Any = None) -> Any:
    import json as json_module
    import urllib.error
    import urllib.request

    data = None if body is None else json_module.dumps(body).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return json_module.loads(reply.read())
    except urllib.error.HTTPError as error:
        _fail(json_module.loads(error.read()).get("message", str(error)))
    except urllib.error.URLError as error:
        _fail(f"no healthscore serve at {url} ({error.reason}); start it with `make serve`")


@clock_app.command("show")
def clock_show(url: LocalUrl = DEFAULT_URL) -> None:
    """Print the local stack's current scoring time."""
    out.print(_local(url, "/local/clock")["now"])


@clock_app.command("advance")
def clock_advance(
    by: Annotated[str, typer.Argument(help="How far: 30m, 12h, 7d or 2w")],
    url: LocalUrl = DEFAULT_URL,
) -> None:
    """Move the local clock forward and run the sweep (decay, timeframes, date conditions)."""
    moved = _local(url, "/local/clock", "POST", {"advance": by})
    sweep = moved["sweep"]
    out.print(f"now {moved['now']}")
    out.print(
        f"sweep: {sweep['due']} due, {sweep['rescored']} rescored, {sweep['changed']} changed, "
        f"{sweep['status_changes']} status changes"
    )


@webhook_app.command("secret")
def webhook_secret(
    account: Annotated[str, typer.Option(help="Account id")] = "demo",
    url: LocalUrl = DEFAULT_URL,
) -> None:
    """Print the account's webhook signing secret (created on first ask)."""
    out.print(_local(url, f"/local/webhook-secret?account={account}", "POST")["secret"])


@webhook_app.command("send")
def webhook_send(
    batch: Annotated[
        Path,
        typer.Argument(
            help="A JSON array: native events or HubSpot items",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    account: Annotated[str, typer.Option(help="Account id")] = "demo",
    url: LocalUrl = DEFAULT_URL,
) -> None:
    """Sign a batch with the account's secret (HubSpot v3) and POST it to /webhooks/events."""
    import json as json_module
    import urllib.error
    import urllib.request
    from datetime import UTC, datetime

    from healthscore.adapters.webhooks import signed_headers

    secret = _local(url, f"/local/webhook-secret?account={account}", "POST")["secret"]
    body = batch.read_bytes()
    uri = f"{url}/webhooks/events?account={account}"
    request = urllib.request.Request(uri, data=body, method="POST")
    for name, value in signed_headers(secret, "POST", uri, body, datetime.now(UTC)).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            out.print(f"{reply.status} {json_module.loads(reply.read())}")
    except urllib.error.HTTPError as error:
        _fail(f"{error.code} {json_module.loads(error.read()).get('message')}")
