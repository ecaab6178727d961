"""`healthscore backtest`: would this definition have warned us, and how early?"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from healthscore.cli.common import (
    AsOfOpt,
    DatasetArg,
    DefinitionOpt,
    _as_of,
    _definition,
    _fail,
    _frames,
    _print_json,
    _scored,
    app,
    out,
)
from healthscore.domain.definition import ScoreDefinition
from healthscore.services.backtest import (
    AHEAD_DAYS,
    Backtest,
    OutcomesError,
    backtest,
    read_outcomes,
)

ROWS = (
    ("churned accounts", "churned", "{}"),
    ("warned within the horizon", "warned", "{}"),
    ("lead time, median (days)", "lead_median", "{:.0f}"),
    ("lead time, quartiles (days)", "lead_quartiles", "{}"),
    (f"warned ≥ {AHEAD_DAYS} days ahead", "warned_ahead", "{:.0%}"),
    ("retained accounts", "retained", "{}"),
    ("retained weeks flagged (false alarms)", "false_alarm_share", "{:.0%}"),
    ("false alarms per CSM per week", "false_alarms_per_csm_week", "{:.2f}"),
    (f"ROC AUC, {AHEAD_DAYS} days ahead", "auc", "{:.3f}"),
)


@app.command("backtest")
def backtest_command(
    dataset: DatasetArg,
    definition: DefinitionOpt,
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            help="A date property of the records: the day each churned (default: the "
            "dataset's outcomes.jsonl)",
        ),
    ] = None,
    horizon: Annotated[
        int, typer.Option("--horizon", min=7, max=365, help="Days before churn a warning counts")
    ] = 90,
    weeks: Annotated[int, typer.Option("--weeks", min=2, max=260, help="Weeks replayed")] = 52,
    bound: Annotated[
        int | None,
        typer.Option(
            "--bound", min=1, max=101, help="Flag scores below this (default: the lowest status)"
        ),
    ] = None,
    alarm_share: Annotated[
        float | None,
        typer.Option(
            "--alarm-share",
            min=0.01,
            max=0.99,
            help="Flag the lowest scores, at most this share of retained weeks: compare "
            "definitions at the same false-alarm load",
        ),
    ] = None,
    compare: Annotated[
        Path | None, typer.Option("--compare", help="Another definition, side by side (a draft)")
    ] = None,
    as_of: AsOfOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False,
) -> None:
    """Replay the score weekly and measure it against who churned: lead time before churn,
    false alarms on retained accounts, and how well it separates them a month ahead."""
    if bound is not None and alarm_share is not None:
        _fail("--bound and --alarm-share: choose one way to flag accounts")
    definitions = [_definition(definition), *([_definition(compare)] if compare else [])]
    if len({d.object_type for d in definitions}) > 1:
        _fail("--compare: both definitions must score the same object type")
    until = _as_of(as_of)
    frames = _frames(dataset)
    try:
        churned = read_outcomes(dataset, frames, definitions[0].object_type, outcome)
    except OutcomesError as error:
        _fail(str(error))

    def run(chosen: ScoreDefinition) -> Backtest:
        return backtest(
            chosen,
            frames,
            churned,
            until,
            weeks=weeks,
            horizon=horizon,
            bound=bound,
            alarm_share=alarm_share,
        )

    results: list[Backtest] = [_scored(partial(run, d), definition) for d in definitions]
    if as_json:
        _print_json([r.summary() for r in results])
        return
    out.print(_table(results, horizon, until.date().isoformat()))


def _table(results: list[Backtest], horizon: int, until: str) -> Table:
    table = Table(title=f"Backtest: {results[0].weeks} weeks to {until}, horizon {horizon} days")
    table.add_column("")
    for result in results:
        table.add_column(result.name, justify="right")
    for label, field, shape in ROWS:
        cells = []
        for result in results:
            if field == "lead_quartiles":
                value = (
                    None if result.lead_q1 is None else f"{result.lead_q1:.0f}–{result.lead_q3:.0f}"
                )
            else:
                value = getattr(result, field)
            cells.append("—" if value is None else shape.format(value))
        table.add_row(label, *cells)
    return table
