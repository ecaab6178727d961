"""Commands for definitions and scores: validate, score, explain, sample-data, templates, new."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from healthscore.adapters.score_files import (
    write_batch_parquet,
    write_csv,
    write_jsonl,
    write_parquet,
)
from healthscore.cli.common import (
    AsOfOpt,
    DatasetArg,
    DefinitionOpt,
    EngineOpt,
    OutputFormat,
    _as_of,
    _dataset,
    _definition,
    _fail,
    _scored,
    app,
    err,
    out,
)
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.definition import (
    MAX_COMPARE_DAYS,
    DefinitionError,
    ScoreDefinition,
)
from healthscore.domain.reference_engine import (
    GroupResult,
    RecordScore,
    RuleResult,
)
from healthscore.domain.templates import (
    TEMPLATES,
    UnknownTemplate,
    definition_from_templates,
    template_group,
)
from healthscore.domain.validation import validate_definition
from healthscore.services.score_table import TableRow, score_table
from healthscore.services.scoring import (
    Engine,
    RecordNotFound,
    explain_record,
    read_definition_json,
    score_folder,
    score_rows,
)


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
    if output_format is OutputFormat.TABLE:
        table_rows = _scored(lambda: score_table(parsed, dataset, moment, engine), definition)
        table = _scores_table(parsed, table_rows)
        if output is None:
            out.print(table)
        else:
            with output.open("w", encoding="utf-8") as handle:
                Console(file=handle, width=200).print(table)
            err.print(f"wrote {len(table_rows)} scores to {output}")
        return
    if output_format is OutputFormat.PARQUET and engine is Engine.POLARS:
        assert output is not None  # the batch engine's frame straight to Parquet, no dicts
        result = _scored(lambda: score_folder(parsed, dataset, moment), definition)
        written = write_batch_parquet(parsed, result, output)
        err.print(f"wrote {written} scores to {output}")
        return
    rows = _scored(lambda: score_rows(parsed, dataset, moment, engine), definition)
    if output_format is OutputFormat.PARQUET:
        assert output is not None
        write_parquet(rows, output)
    else:
        writer = write_jsonl if output_format is OutputFormat.JSONL else write_csv
        if output is None:
            writer(rows, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                writer(rows, handle)
    if output is not None:
        err.print(f"wrote {len(rows)} scores to {output}")


def _scores_table(definition: ScoreDefinition, rows: list[TableRow]) -> Table:
    table = Table(title=f"{definition.name} — {len(rows)} scored {definition.object_type}")
    named = any(row.name for row in rows)
    if named:
        table.add_column("name")
    table.add_column("id")
    table.add_column("score", justify="right")
    table.add_column("status")
    for group in definition.groups:
        table.add_column(group.name, justify="right")
    table.add_column("why (what pulls it down)")
    for row in rows:
        table.add_row(
            *([row.name or ""] if named else []),
            row.id,
            str(row.score),
            f"[{row.color}]{row.status}[/]",
            *(f"{points:g}" for points in row.groups.values()),
            row.why,
        )
    return table


@app.command()
def explain(
    dataset: DatasetArg,
    definition: DefinitionOpt,
    record: Annotated[str, typer.Option("--record", "-r", help="Id of the record to explain")],
    as_of: AsOfOpt = None,
    compare: Annotated[
        str | None,
        typer.Option(help="Also the score this long before, and the change: 7d, 30d, 90d …"),
    ] = None,
) -> None:
    """Test a record: its score, status and where every point came from."""
    parsed = _definition(definition)
    moment = _as_of(as_of)
    window = _window(compare)
    data = _dataset(dataset)
    try:
        explanation = explain_record(parsed, data, record, moment)
        earlier = explain_record(parsed, data, record, moment - window) if window else None
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
    if result.override is not None:
        o = result.override
        out.print(
            f"Overridden: {o.status}"
            + (f" ({o.score})" if o.score is not None else "")
            + f" by {o.set_by} until {o.expires_at:%Y-%m-%d %H:%M} UTC — {o.reason}; "
            f"computed {result.computed_score} {result.computed_status}"
        )
    if result.stale:
        rules = {f.property: f.max_age.describe() for f in parsed.freshness}
        out.print(
            "Stale inputs (not updated within their freshness rule, or never set): "
            + ", ".join(f"{name} (max age {rules[name]})" for name in result.stale)
        )
    if window is not None and earlier is not None:
        then = earlier.result
        day = (moment - window).date()
        if then is None:
            out.print(f"{window.days} days before ({day}): not in the score's segments then")
        else:
            change = result.score - then.score
            moved = (
                "no change" if change == 0 else f"{'up' if change > 0 else 'down'} {abs(change)}"
            )
            out.print(
                f"{window.days} days before ({day}): {then.score} {then.status} → now "
                f"{result.score} {result.status}: {moved}"
            )


def _window(text: str | None) -> timedelta | None:
    """`--compare 30d` → 30 days (exit 2 naming the option for anything else)."""
    if text is None:
        return None
    days = text[:-1] if text.endswith("d") else ""
    if not days.isdigit() or not 1 <= int(days) <= MAX_COMPARE_DAYS:
        _fail(f"--compare {text!r}: a number of days from 1 to {MAX_COMPARE_DAYS}, e.g. 30d")
    return timedelta(days=int(days))


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
    earned = f"{rule.points:+g}" if rule.hundredths else "0"
    # the rule (its points as defined), what it found, then what it earned: never two signed
    # numbers side by side
    return f"{rule.description} — {'; '.join(detail)} → [{colour}]{earned}[/]"


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
