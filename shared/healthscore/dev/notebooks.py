"""What the analysts' notebooks (notebooks/*.py) share: reading their command-line inputs,
loading a portfolio and a definition, scoring it with the batch engine, and talking to a
running healthscore API (read a definition, save a draft revision).

Inputs (`mo.cli_args()`, i.e. `marimo run notebook.py -- --dataset … --definition …`):
- `--dataset` a portable dataset folder; default: a 300-company sample generated once into
  `.cache/notebook-sample` (the same generator as `healthscore sample-data`);
- `--definition` a definition file (default docs/examples/customer-health-score.json), or
  `--api URL --definition-id ID [--token-file F] [--revision draft|live]` to read it from the API;
- `--as-of` an ISO day or instant (default: the dataset's last event day, end of day);
- `--outcome` the property with renewal outcomes (default `renewal_outcome`);
- `--compare` a second definition file to compare with (what-if), `--record` a record id;
- `--export DIR|s3://bucket/prefix` an export of a live score (`healthscore export`, or the
  nightly one in the export bucket): its dataset, its definition and its as-of instant are the
  defaults, and its stored scores (`scores.parquet`) and daily snapshots come along, so the
  notebooks show the stored scores beside the recomputed ones and the nightly trend.
"""

from __future__ import annotations

import json
import os
import shlex
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import polars as pl

from healthscore.adapters.dataset_frames import scan_dataset
from healthscore.domain.batch_engine import (
    property_text,
    score_frames,
)
from healthscore.domain.batch_frames import (
    BatchResult,
    Frames,
)
from healthscore.domain.batch_inputs import computed
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.validation import parse_definition
from healthscore.domain.values import parse_instant
from healthscore.services.outcomes import Threshold

ROOT = Path(__file__).resolve().parents[3]  # the repository (shared/healthscore/services/…)
DEFAULT_DEFINITION = ROOT / "docs" / "examples" / "customer-health-score.json"
SAMPLE = ROOT / ".cache" / "notebook-sample"
SAMPLE_COMPANIES = 300


class NotebookInputError(ValueError):
    """A notebook input is missing or wrong; the message says which and how to fix it."""


@dataclass
class Portfolio:
    """A scored portfolio: the frames, the definition, and one row per in-scope record."""

    definition: ScoreDefinition
    raw_definition: dict[str, Any]
    frames: Frames
    result: BatchResult
    # id, computed score and status (an override set aside; `overridden` says which have one),
    # color, group columns (points), stale, outcome
    scored: pl.DataFrame
    as_of: datetime
    description: str
    group_names: dict[str, str] = field(default_factory=dict)  # column → group name
    # an export's stored scores: id, stored_score and stored_status (computed ones: an override
    # set aside, as in `scored`), stored_overridden; None without --export
    stored: pl.DataFrame | None = None
    # the nightly snapshots of every in-scope record (day, count, average, median, overridden,
    # stale and one column per status), oldest first; None without --export or the API
    snapshots: pl.DataFrame | None = None


@dataclass
class NotebookInputs:
    dataset: Path | None = None
    definition: Path | None = None
    api: str | None = None
    token: str | None = None
    definition_id: str | None = None
    revision: str = "live"
    as_of: str | None = None
    outcome: str = "renewal_outcome"
    record: str | None = None
    compare: Path | None = None
    export: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> NotebookInputs:
        """From `mo.cli_args()`; when there are none (e.g. under pytest), from the environment
        variable HEALTHSCORE_NOTEBOOK_ARGS holding the same `--name value` pairs."""
        if not args:
            args = _pairs(shlex.split(os.environ.get("HEALTHSCORE_NOTEBOOK_ARGS", "")))

        def text(name: str) -> str | None:
            value = args.get(name)
            return None if value in (None, "") else str(value)

        token = text("token")
        token_file = text("token-file")
        if token is None and token_file:
            path = Path(token_file)
            if not path.exists():
                raise NotebookInputError(f"--token-file {token_file}: no such file")
            token = path.read_text().strip()
        dataset, definition = text("dataset"), text("definition")
        return cls(
            dataset=Path(dataset) if dataset else None,
            definition=Path(definition) if definition else None,
            api=(text("api") or "").rstrip("/") or None,
            token=token,
            definition_id=text("definition-id"),
            revision=text("revision") or ("draft" if text("definition-id") else "live"),
            as_of=text("as-of"),
            outcome=text("outcome") or "renewal_outcome",
            record=text("record"),
            compare=Path(compare) if (compare := text("compare")) else None,
            export=text("export"),
        )

    # -- the API -------------------------------------------------------------------------------

    @property
    def can_save(self) -> bool:
        return bool(self.api and self.definition_id and self.token)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        if not self.api:
            raise NotebookInputError("--api is needed to talk to a healthscore API")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.api}{path}", data=data, method=method)
        request.add_header("content-type", "application/json")
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise NotebookInputError(f"{method} {path}: {error.code} {detail}") from error
        except urllib.error.URLError as error:
            raise NotebookInputError(f"no healthscore API at {self.api}: {error.reason}") from error

    def save_thresholds(self, thresholds: Sequence[Threshold]) -> dict[str, Any]:
        """Save the thresholds into the score's working revision (a draft revision of a live
        score; the live one keeps scoring until it is published)."""
        if not self.can_save:
            raise NotebookInputError("saving needs --api, --definition-id and a token")
        current = self.call("GET", f"/definitions/{self.definition_id}")
        working = dict(current["draft"] or current["live"])
        by_label = {t.label: t for t in thresholds}
        working["thresholds"] = [
            {**t, "min": by_label[t["label"]].min} if t["label"] in by_label else t
            for t in working["thresholds"]
        ]
        saved = self.call(
            "PUT", f"/definitions/{self.definition_id}?version={current['version']}", working
        )
        return dict(saved)

    # -- loading -------------------------------------------------------------------------------

    def raw_definition(self) -> dict[str, Any]:
        if self.definition_id:
            found = self.call("GET", f"/definitions/{self.definition_id}")
            raw = found[self.revision] or found["draft"] or found["live"]
            return dict(raw)
        path = self.definition or (
            self.export_folder() / "definition.json" if self.export else DEFAULT_DEFINITION
        )
        if not path.exists():
            raise NotebookInputError(f"--definition {path}: no such file")
        return dict(json.loads(path.read_text()))

    def comparison(self) -> dict[str, Any] | None:
        """The definition to compare against: `--compare FILE`, or with `--api` the score's other
        revision (live when looking at the draft, and the other way round)."""
        if self.compare is not None:
            if not self.compare.exists():
                raise NotebookInputError(f"--compare {self.compare}: no such file")
            return dict(json.loads(self.compare.read_text()))
        if self.api and self.definition_id:
            found = self.call("GET", f"/definitions/{self.definition_id}")
            other = found["live"] if self.revision == "draft" else found["draft"]
            return None if other is None else dict(other)
        return None

    def export_folder(self) -> Path:
        """The export's folder: `--export DIR`, or an S3 prefix downloaded once into
        `.cache/exports/` (the same prefix is not downloaded again)."""
        if not self.export:
            raise NotebookInputError("--export is needed for an export's folder")
        if self.export.startswith("s3://"):
            return download_export(self.export)
        folder = Path(self.export)
        if not (folder / "manifest.json").exists():
            raise NotebookInputError(
                f"--export {self.export}: not an export (no manifest.json); download one with "
                "`healthscore export --api URL --token-file F --definition-id ID --to DIR`"
            )
        return folder

    def manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.export_folder() / "manifest.json").read_text()))

    def dataset_folder(self) -> Path:
        if self.dataset is None and self.export:
            return self.export_folder()
        if self.dataset is not None:
            if not self.dataset.is_dir():
                raise NotebookInputError(f"--dataset {self.dataset}: not a dataset folder")
            return self.dataset
        if not (SAMPLE / "records.jsonl").exists():
            from healthscore.dev.sample_portfolio import generate_portfolio

            generate_portfolio(SAMPLE, SAMPLE_COMPANIES, seed=7)
        return SAMPLE

    def load(self) -> Portfolio:
        raw = self.raw_definition()
        definition = parse_definition(raw)
        folder = self.dataset_folder()
        frames = scan_dataset(folder)
        as_of = self.as_of_instant(frames)
        result = score_frames(definition, frames, as_of)
        names = {
            column: group.name
            for column, group in zip(result.group_columns, definition.groups, strict=True)
        }
        outcome = property_text(frames, definition.object_type, self.outcome)
        scored = (
            computed(result.frame)
            .with_columns(pl.col(c) / 100 for c in result.group_columns)
            .with_columns(pl.col("override").is_not_null().alias("overridden"))
            .join(outcome.rename({self.outcome: "outcome"}), on="id", how="left")
            .with_columns(pl.col("outcome").str.to_lowercase())
        )
        overridden = int(scored["overridden"].sum())
        description = (
            f"{scored.height:,} {definition.object_type} in scope from `{folder}`, "
            f"as of {as_of.date().isoformat()}"
            + (
                f"; {overridden:,} overridden by a CSM, judged here by their computed scores"
                if overridden
                else ""
            )
        )
        stored = self.stored_scores()
        if stored is not None:
            description += f"; stored scores from the export as of {self.manifest()['as_of']}"
        return Portfolio(
            definition,
            raw,
            frames,
            result,
            scored,
            as_of,
            description,
            names,
            stored,
            self.snapshots(definition),
        )

    def stored_scores(self) -> pl.DataFrame | None:
        """The export's stored scores (computed ones where an override is in effect)."""
        if not self.export:
            return None
        stored = pl.read_parquet(self.export_folder() / "scores.parquet")
        return stored.select(
            "id",
            pl.coalesce("computed_score", "score").alias("stored_score"),
            pl.coalesce("computed_status", "status").alias("stored_status"),
            pl.col("override").is_not_null().alias("stored_overridden"),
        )

    def snapshots(self, definition: ScoreDefinition) -> pl.DataFrame | None:
        """The nightly snapshots of every in-scope record: from the export, or the API's trend
        (`--api` and `--definition-id`, the last year)."""
        rows: list[dict[str, Any]]
        if self.export:
            path = self.export_folder() / "snapshots.jsonl"
            lines = path.read_text().splitlines() if path.exists() else []
            rows = [row for row in map(json.loads, lines) if row["segment"] == "*"]
        elif self.api and self.definition_id:
            rows = self.call("GET", f"/definitions/{self.definition_id}/trend?days=366")["rows"]
        else:
            return None
        labels = [t.label for t in definition.thresholds]
        return pl.DataFrame(
            [
                {
                    "day": date.fromisoformat(row["day"]),
                    **{k: row[k] for k in ("count", "average", "median", "overridden", "stale")},
                    **{label: row["statuses"].get(label, 0) for label in labels},
                }
                for row in rows
            ],
            schema={
                "day": pl.Date,
                "count": pl.Int64,
                "average": pl.Float64,
                "median": pl.Float64,
                "overridden": pl.Int64,
                "stale": pl.Int64,
                **dict.fromkeys(labels, pl.Int64),
            },
        ).sort("day")

    def as_of_instant(self, frames: Frames) -> datetime:
        if not self.as_of and self.export:  # what the stored scores are as of
            moment = parse_instant(str(self.manifest()["as_of"]))
            if moment is not None:
                return moment
        if self.as_of:
            moment = parse_instant(self.as_of)
            if moment is None:
                try:
                    day = date.fromisoformat(self.as_of)
                except ValueError as error:
                    raise NotebookInputError(
                        f"--as-of {self.as_of}: an ISO day (2026-06-15) or instant with offset"
                    ) from error
                moment = datetime.combine(day, time(23, 59), UTC)
            return moment
        last = frames.events.select(pl.col("day").max()).collect().item()
        if last is None:
            return datetime.combine(datetime.now(UTC).date(), time(23, 59), UTC)
        ending = date.fromordinal(date(1970, 1, 1).toordinal() + int(last))
        return datetime.combine(ending, time(23, 59), UTC)


def download_export(uri: str, cache: Path = ROOT / ".cache" / "exports") -> Path:
    """An export in S3 (`s3://bucket/datasets/<account>/<job>`) as a local folder."""
    import boto3

    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    folder = cache / bucket / prefix
    if (folder / "manifest.json").exists():
        return folder
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/").get("Contents", [])
    names = [item["Key"].rsplit("/", 1)[-1] for item in listed]
    if "manifest.json" not in names:
        raise NotebookInputError(f"--export {uri}: no export there (no manifest.json)")
    folder.mkdir(parents=True, exist_ok=True)
    for name in sorted(names, key=lambda n: n == "manifest.json"):  # the manifest last
        s3.download_file(bucket, f"{prefix}/{name}", str(folder / name))
    return folder


def _pairs(words: Sequence[str]) -> dict[str, str]:
    """`--dataset x --weeks 6` → {"dataset": "x", "weeks": "6"}."""
    pairs: dict[str, str] = {}
    for name, value in zip(words[::2], words[1::2], strict=False):
        if not name.startswith("--"):
            raise NotebookInputError(f"HEALTHSCORE_NOTEBOOK_ARGS: {name!r} is not --name")
        pairs[name[2:]] = value
    return pairs


def notebook_args() -> Mapping[str, Any]:
    """`mo.cli_args()` when the notebook runs under marimo; none when it runs as a script or
    under pytest (then HEALTHSCORE_NOTEBOOK_ARGS stands in)."""
    import marimo as mo
    from marimo._runtime.context.types import ContextNotInitializedError

    try:
        return dict(mo.cli_args())
    except ContextNotInitializedError:
        return {}


def option(name: str, default: str) -> str:
    """One more input a notebook reads itself (`--weeks`, `--days`), with the same fallback."""
    args = notebook_args() or _pairs(shlex.split(os.environ.get("HEALTHSCORE_NOTEBOOK_ARGS", "")))
    value = args.get(name)
    return default if value in (None, "") else str(value)
