"""Analytics on the batch engine: distribution preview, what-if, trend (backtest) and reports.

Each takes a definition (or two) and a dataset's frames and returns plain results — Polars
frames and small dataclasses — that the CLI prints, the API will serve and the notebooks plot.
Everything is computed by the batch engine, so every figure is the exact score the reference
engine would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from healthscore.domain.batch_engine import (
    property_text,
    score_frames,
    segment_membership,
)
from healthscore.domain.batch_frames import Frames
from healthscore.domain.batch_inputs import computed
from healthscore.domain.definition import (
    DefinitionError,
    Issue,
    ScoreDefinition,
)
from healthscore.domain.points import HUNDREDTHS
from healthscore.domain.values import MISSING_TEXT, name_properties

BIN_WIDTH = 5


# ---------------------------------------------------------------------------------------------
# Record names


def record_names(frames: Frames, object_type: str) -> pl.DataFrame:
    """id, name of every record of the type: what a CSM calls it (a company's name, else its
    domain; a contact's first and last name, else email; a deal's dealname; a ticket's subject;
    any other object's `name`), null when it has none."""
    wanted = name_properties(object_type)
    texts: pl.DataFrame | None = None
    for prop in dict.fromkeys(p for names in wanted for p in names):
        text = property_text(frames, object_type, prop)
        texts = text if texts is None else texts.join(text, on="id", how="left")
    assert texts is not None
    options = [
        pl.concat_str([pl.col(p) for p in names], separator=" ", ignore_nulls=True)
        for names in wanted
    ]
    name = pl.coalesce([pl.when(option != "").then(option) for option in options])
    return texts.select("id", name.alias("name"))


def with_names(frame: pl.DataFrame, frames: Frames, object_type: str) -> pl.DataFrame:
    """The frame (keyed by `id`) with each record's name first; unchanged when no record of
    the type has a name."""
    names = record_names(frames, object_type)
    if names["name"].null_count() == names.height:
        return frame
    named = frame.join(names, on="id", how="left")
    return named.select("name", *(c for c in frame.columns if c != "name"))


# ---------------------------------------------------------------------------------------------
# Distribution preview


@dataclass(frozen=True)
class Preview:
    """How a definition would distribute records: per 5-point bin and per status."""

    scored: int
    bins: pl.DataFrame  # low, high, count — every bin 0–4 … 95–100, empty ones included
    statuses: pl.DataFrame  # status, color, min, count, share — highest threshold first
    average: float
    median: float


def preview(definition: ScoreDefinition, frames: Frames, as_of: datetime) -> Preview:
    scores = computed(score_frames(definition, frames, as_of).frame)
    return _summarise(definition, scores)


def _summarise(definition: ScoreDefinition, scores: pl.DataFrame) -> Preview:
    lows = list(range(0, 100, BIN_WIDTH))
    binned = scores.select(
        (pl.col("score").clip(0, 100 - BIN_WIDTH) // BIN_WIDTH * BIN_WIDTH).alias("low")
    )
    counts = binned.group_by("low").len("count")
    bins = (
        pl.DataFrame({"low": lows}, schema={"low": pl.Int64})
        .join(counts.with_columns(pl.col("low").cast(pl.Int64)), on="low", how="left")
        .select(
            "low",
            pl.when(pl.col("low") == 100 - BIN_WIDTH)
            .then(100)
            .otherwise(pl.col("low") + BIN_WIDTH - 1)
            .alias("high"),
            pl.col("count").fill_null(0).cast(pl.Int64),
        )
    )
    by_status = scores.group_by("status").len("count")
    thresholds = list(reversed(definition.thresholds))
    statuses = (
        pl.DataFrame(
            {
                "status": [t.label for t in thresholds],
                "color": [t.color for t in thresholds],
                "min": [t.min for t in thresholds],
            }
        )
        .join(by_status, on="status", how="left")
        .with_columns(pl.col("count").fill_null(0).cast(pl.Int64))
        .with_columns((pl.col("count") / max(scores.height, 1) * 100).round(1).alias("share"))
    )
    figures = scores.select(
        pl.col("score").mean().fill_null(0.0).alias("average"),
        pl.col("score").median().fill_null(0.0).alias("median"),
    ).row(0)
    average, median = float(figures[0]), float(figures[1])
    return Preview(scores.height, bins, statuses, round(average, 1), median)


# ---------------------------------------------------------------------------------------------
# What-if


@dataclass(frozen=True)
class WhatIf:
    """A draft against the live definition over the same records and as-of."""

    compared: int  # records scored by both
    changed_status: int
    changed_score: int
    only_live: int  # in the live score's segments but not the draft's
    only_draft: int
    transitions: pl.DataFrame  # status_live, status_draft, count (status changes only)
    # [name,] id, score_live, score_draft, delta, status_live, status_draft, why (the groups
    # whose points differ); biggest moves first
    movers: pl.DataFrame


def what_if(
    live: ScoreDefinition, draft: ScoreDefinition, frames: Frames, as_of: datetime
) -> WhatIf:
    if live.object_type != draft.object_type:
        raise DefinitionError(
            [
                Issue(
                    "object_type",
                    f"the draft scores {draft.object_type} but the live score scores "
                    f"{live.object_type}: compare definitions of the same object type",
                )
            ]
        )
    before = _scored(live, as_of, frames=frames, side="before")
    after = _scored(draft, as_of, frames=frames, side="after")
    moves = _moves(before, after).rename(
        {
            "score_before": "score_live",
            "score_after": "score_draft",
            "status_before": "status_live",
            "status_after": "status_draft",
        }
    )
    moved = moves.filter(pl.col("status_live") != pl.col("status_draft"))
    transitions = (
        moved.group_by(["status_live", "status_draft"])
        .len("count")
        .sort(["count", "status_live", "status_draft"], descending=[True, False, False])
    )
    movers = moves.filter(pl.col("delta") != 0)
    return WhatIf(
        compared=moves.height,
        changed_status=moved.height,
        changed_score=movers.height,
        only_live=before.join(after, on="id", how="anti").height,
        only_draft=after.join(before, on="id", how="anti").height,
        transitions=transitions,
        movers=with_names(movers, frames, live.object_type),
    )


# ---------------------------------------------------------------------------------------------
# Trend (replay / backtest)


def first_event_day(frames: Frames) -> date | None:
    """The first day of the event log (a replay before it sees no activity)."""
    day = frames.events.select(pl.col("day").min()).collect().item()
    return None if day is None else date(1970, 1, 1) + timedelta(days=int(day))


def trend_days(until: datetime, every_days: int, periods: int) -> list[datetime]:
    """`periods` as-of instants `every_days` apart, ending at `until` (oldest first)."""
    if every_days < 1 or periods < 1:
        raise ValueError("--every and --periods must be at least 1")
    return [until - timedelta(days=every_days * k) for k in reversed(range(periods))]


def trend(
    definition: ScoreDefinition, frames: Frames, as_of_days: Sequence[datetime]
) -> pl.DataFrame:
    """Every in-scope record's score and status at each as-of, from the same event log.

    Columns: as_of (Date), id, score, status. Deterministic: the same data and days give the
    same rows in the same order (by as_of, then id).
    """
    parts = [
        score_frames(definition, frames, moment).frame.select(
            pl.lit(moment.date()).alias("as_of"), "id", "score", "status"
        )
        for moment in as_of_days
    ]
    if not parts:
        return pl.DataFrame(
            schema={"as_of": pl.Date, "id": pl.String, "score": pl.Int64, "status": pl.String}
        )
    return pl.concat(parts)


def trend_summary(definition: ScoreDefinition, history: pl.DataFrame) -> pl.DataFrame:
    """Per as-of day: records scored, average and median score, and a count per status."""
    labels = [t.label for t in reversed(definition.thresholds)]
    return (
        history.group_by("as_of")
        .agg(
            pl.len().alias("scored"),
            pl.col("score").mean().round(1).alias("average"),
            pl.col("score").median().alias("median"),
            *((pl.col("status") == label).sum().alias(label) for label in labels),
        )
        .sort("as_of")
    )


# ---------------------------------------------------------------------------------------------
# Reports


class UnknownProperty(LookupError):
    """A report was asked by a property no record of the type has."""


def _known_properties(frames: Frames, object_type: str) -> list[str]:
    """Properties at least one record of the type has."""
    columns = [c for c in frames.records.collect_schema().names() if c.startswith("p.")]
    if not columns:
        return []
    present = (
        frames.records.filter(pl.col("object_type") == object_type)
        .select(pl.col(c).is_not_null().any() for c in columns)
        .collect()
        .row(0)
    )
    return sorted(c.removeprefix("p.") for c, here in zip(columns, present, strict=True) if here)


def report(definition: ScoreDefinition, frames: Frames, as_of: datetime, by: str) -> pl.DataFrame:
    """Average and median score and status mix by a record property, or by `segment`.

    Columns: the grouping value (`by`), scored, average, median, one column per status (a
    count of effective statuses), how many of them are overridden, and how many have stale
    inputs (by `csm_owner`: whose records need an update), largest groups first. By segment,
    every segment of the score's object type in the dataset is a row (a record can be in
    several).
    """
    scores = score_frames(definition, frames, as_of).frame.select(
        "id",
        "score",
        "status",
        pl.col("override").is_not_null().alias("_overridden"),
        (pl.col("stale").list.len() > 0).alias("_stale"),
    )
    labels = [t.label for t in reversed(definition.thresholds)]
    if by == "segment":
        segments = [s for s in frames.segments.values() if s.object_type == definition.object_type]
        members = segment_membership(frames, definition.object_type, segments, as_of)
        keyed = (
            scores.join(members, on="id", how="left")
            .unpivot(
                index=["id", "score", "status", "_overridden", "_stale"],
                on=[s.id for s in segments],
                variable_name="segment_id",
                value_name="member",
            )
            .filter(pl.col("member"))
            .join(
                pl.DataFrame(
                    {"segment_id": [s.id for s in segments], by: [s.name for s in segments]}
                ),
                on="segment_id",
            )
        )
    else:
        known = _known_properties(frames, definition.object_type)
        if by not in known:
            raise UnknownProperty(
                f"no {definition.object_type} property {by!r} in this dataset "
                f"(known: {', '.join(known) or 'none'}; or use 'segment')"
            )
        values = property_text(frames, definition.object_type, by)
        keyed = scores.join(values, on="id", how="left").with_columns(
            pl.col(by).fill_null(MISSING_TEXT)
        )
    return (
        keyed.group_by(by)
        .agg(
            pl.len().alias("scored"),
            pl.col("score").mean().round(1).alias("average"),
            pl.col("score").median().alias("median"),
            *((pl.col("status") == label).sum().alias(label) for label in labels),
            pl.col("_overridden").sum().alias("overridden"),
            pl.col("_stale").sum().alias("stale inputs"),
        )
        .sort(["scored", by], descending=[True, False])
    )


def score_moves(
    frames: Frames,
    before: tuple[ScoreDefinition, datetime],
    after: tuple[ScoreDefinition, datetime],
) -> pl.DataFrame:
    """Every record scored both times — by one definition on two days, or by two definitions —
    with its score and status before and after, the delta, and "why": the groups whose points
    moved (`Engagement 20 → 35; NPS 0 → -15`). Biggest moves first."""

    return _moves(
        _scored(*before, frames=frames, side="before"), _scored(*after, frames=frames, side="after")
    )


def _scored(
    definition: ScoreDefinition, as_of: datetime, *, frames: Frames, side: str
) -> pl.DataFrame:
    """id, score_{side}, status_{side} and `{side}:{group}` hundredths (computed scores)."""
    result = score_frames(definition, frames, as_of)
    names = dict(zip(result.group_columns, (g.name for g in definition.groups), strict=True))
    return computed(result.frame).select(
        "id",
        pl.col("score").alias(f"score_{side}"),
        pl.col("status").alias(f"status_{side}"),
        *(pl.col(c).alias(f"{side}:{n}") for c, n in names.items()),
    )


def _moves(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    groups = sorted({c.split(":", 1)[1] for c in [*old.columns, *new.columns] if ":" in c})
    both = old.join(new, on="id", how="inner")
    for group in groups:
        for side in ("before", "after"):
            if f"{side}:{group}" not in both.columns:
                both = both.with_columns(pl.lit(0, dtype=pl.Int64).alias(f"{side}:{group}"))

    def shown(column: str) -> pl.Expr:
        return (pl.col(column) / HUNDREDTHS).round(2).cast(pl.String).str.replace(r"\.0$", "")

    parts = [
        pl.when(pl.col(f"before:{g}") != pl.col(f"after:{g}")).then(
            pl.format("{} {} → {}", pl.lit(g), shown(f"before:{g}"), shown(f"after:{g}"))
        )
        for g in groups
    ]
    why = pl.concat_list(parts).list.drop_nulls().list.join("; ") if parts else pl.lit("")
    return (
        both.with_columns(
            (pl.col("score_after") - pl.col("score_before")).alias("delta"), why.alias("why")
        )
        .with_columns(
            pl.when(pl.col("why") == "").then(pl.lit("—")).otherwise(pl.col("why")).alias("why")
        )
        .sort([pl.col("delta").abs(), pl.col("id")], descending=[True, False])
        .select(
            "id", "score_before", "score_after", "delta", "status_before", "status_after", "why"
        )
    )


def status_changes_with_reasons(
    live: ScoreDefinition, draft: ScoreDefinition, frames: Frames, as_of: datetime
) -> pl.DataFrame:
    """Records whose status differs between the live score and the draft, and why."""
    moves = score_moves(frames, (live, as_of), (draft, as_of))
    return moves.filter(pl.col("status_before") != pl.col("status_after")).rename(
        {
            "score_before": "score_live",
            "score_after": "score_draft",
            "status_before": "status_live",
            "status_after": "status_draft",
        }
    )


def biggest_drops(
    definition: ScoreDefinition, frames: Frames, as_of: datetime, days: int = 30, top: int = 10
) -> pl.DataFrame:
    """The records whose score fell most over the last `days` (their names first, when they
    have one), and the groups that fell."""
    then = as_of - timedelta(days=days)
    moves = score_moves(frames, (definition, then), (definition, as_of))
    drops = moves.filter(pl.col("delta") < 0).sort(["delta", "id"]).head(top)
    return with_names(drops, frames, definition.object_type)
