"""`healthscore backtest`: would this definition have warned us, and how early?"""

from __future__ import annotations

import json
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
from healthscore.services.rule_signal import Suggestion, SuggestionUnavailable, suggest
from healthscore.services.scoring import read_definition_json

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
    suggest_to: Annotated[
        Path | None,
        typer.Option(
            "--suggest",
            help="Also fit points from the outcomes and write them here as a draft definition",
        ),
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
    fitted = None
    if suggest_to is not None:
        raw = read_definition_json(definition)
        try:
            fitted = _scored(
                partial(suggest, definitions[0], raw, frames, churned, until, weeks=weeks,
                        horizon=horizon),
                definition,
            )  # fmt: skip
        except SuggestionUnavailable as error:
            _fail(str(error))
        suggest_to.write_text(json.dumps(fitted.draft, indent=2) + "\n", encoding="utf-8")
    if as_json:
        _print_json(
            {
                "backtests": [r.summary() for r in results],
                **({"suggestion": _suggestion_json(fitted, suggest_to)} if fitted else {}),
            }
            if fitted
            else [r.summary() for r in results]
        )
        return
    out.print(_table(results, horizon, until.date().isoformat()))
    if fitted is not None:
        out.print(_signal_table(fitted))
        out.print(
            f"A suggestion fitted to history, not a verdict: ROC AUC a month ahead on the "
            f"{fitted.holdout_accounts} accounts left out of the fit — current "
            f"{_auc(fitted.holdout_auc_current)}, suggested {_auc(fitted.holdout_auc_suggested)}. "
            f"Draft written to {suggest_to}; compare it with `healthscore whatif`."
        )


def _auc(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _suggestion_json(fitted: Suggestion, path: Path | None) -> dict[str, object]:
    return {
        "draft": str(path),
        "holdout_accounts": fitted.holdout_accounts,
        "holdout_auc_current": fitted.holdout_auc_current,
        "holdout_auc_suggested": fitted.holdout_auc_suggested,
        "rules": [
            {
                "rule": s.rule,
                "fires_among_churned": s.churned_rate,
                "fires_among_retained": s.retained_rate,
                "weight": s.weight,
                "suggested_points": s.points,
            }
            for s in fitted.signals
        ],
    }


def _signal_table(fitted: Suggestion) -> Table:
    table = Table(title="Which rules carry signal (fires in the weeks before churn vs retained)")
    for column in ("rule", "churned", "retained", "weight", "suggested points"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for s in fitted.signals:
        table.add_row(
            s.rule,
            f"{s.churned_rate:.0%}",
            f"{s.retained_rate:.0%}",
            "—" if s.weight is None else f"{s.weight:+.2f}",
            "kept (by value)" if s.points is None else "dropped" if s.points == 0
            else f"{s.points:+d}",
        )  # fmt: skip
    return table


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
