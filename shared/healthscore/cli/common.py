"""What every command shares: the Typer app, consoles, options, and failing with exit code 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from healthscore.adapters.dataset_files import DatasetError
from healthscore.domain.batch_frames import Frames
from healthscore.domain.dataset import Dataset
from healthscore.domain.definition import (
    DefinitionError,
    Issue,
    ScoreDefinition,
)
from healthscore.domain.values import parse_as_of
from healthscore.services.scoring import (
    Engine,
    load_dataset,
    load_definition,
    load_frames,
)

app = typer.Typer(
    name="healthscore",
    help="Customer health scores: validate definitions, score portfolios, explain a record.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

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


T = TypeVar("T")


def _scored(run: Callable[[], T], definition: Path) -> T:
    """Run an engine, turning what the user can fix into exit code 2 with the reason."""
    try:
        return run()
    except DefinitionError as error:
        _fail(f"{definition} does not fit this dataset", error.issues)
    except DatasetError as error:
        _fail(f"the dataset cannot be read:\n{error}")


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
