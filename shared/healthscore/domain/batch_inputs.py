"""The batch engine's last step: stale inputs (freshness rules) and overrides in effect, as
columns of the scores frame (docs/scoring-semantics.md, step 8).

Freshness is decided in frames: whether each input has a value that day (from the records as
they were then) and the day of its last change on or before it (from the property histories).
Overrides are few — a CSM sets them one by one — so the one in effect for each overridden
record is chosen with the shared domain code and joined on as a small frame.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from healthscore.domain.batch_frames import ID, NO_DAY, day_number
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.overrides import Override, change_days, in_effect
from healthscore.domain.values import EPOCH, utc_day

OVERRIDE = pl.Struct(
    {
        "status": pl.String,
        "score": pl.Int64,
        "reason": pl.String,
        "set_by": pl.String,
        "set_at": pl.String,
        "expires_at": pl.String,
    }
)


def freshness_rules(definition: ScoreDefinition) -> list[tuple[str, int]]:
    """(property, max age in days) in property order: the `stale` lists come out sorted."""
    return sorted((f.property, f.max_age.days) for f in definition.freshness)


def with_inputs(
    definition: ScoreDefinition,
    scores: pl.DataFrame,
    changes: pl.LazyFrame | None,
    overrides: tuple[Override, ...],
    as_of: datetime,
) -> pl.DataFrame:
    """`scores` (with a Boolean `fp<i>` per freshness rule: the input has a value that day)
    gains `stale` (sorted names), the override in effect, and the next change days both add;
    `score`, `status` and `color` become the effective ones, `computed_score` and
    `computed_status` the computed ones where an override is in effect (null elsewhere)."""
    return with_inputs_query(definition, scores.lazy(), changes, overrides, as_of).collect()


def with_inputs_query(
    definition: ScoreDefinition,
    scores: pl.LazyFrame,
    changes: pl.LazyFrame | None,
    overrides: tuple[Override, ...],
    as_of: datetime,
) -> pl.LazyFrame:
    """`with_inputs` as a query, to be collected with the scores'."""
    today = day_number(utc_day(as_of))
    rules = freshness_rules(definition)
    frame = scores
    next_day = pl.col("next_change_day").cast(pl.Int32).cast(pl.Int64)
    stale_names: list[pl.Expr] = []
    stale_days: list[pl.Expr] = [next_day]
    for index, (name, max_age) in enumerate(rules):
        last = _last_changes(changes, definition.object_type, name, today)
        frame = frame.join(last.rename({"day": f"fd{index}"}), on=ID, how="left")
        present, day = pl.col(f"fp{index}"), pl.col(f"fd{index}").cast(pl.Int64)
        stale = ~present | (day.is_not_null() & (today - day >= max_age))
        stale_names.append(pl.when(stale).then(pl.lit(name)))
        stale_days.append(pl.when(present & day.is_not_null()).then(day + max_age))
    frame = frame.with_columns(
        (
            pl.concat_list(stale_names).list.drop_nulls()
            if stale_names
            else pl.lit([], dtype=pl.List(pl.String))
        ).alias("stale"),
        pl.min_horizontal([pl.when(d > today).then(d).otherwise(NO_DAY) for d in stale_days]).alias(
            "_next"
        ),
    )
    in_effect_now = _overrides_frame(definition, overrides, as_of)
    if in_effect_now.height:
        frame = frame.join(in_effect_now.lazy(), on=ID, how="left")
    else:  # (no override of this score: its columns, all null, without a join on the ids)
        frame = frame.with_columns(
            pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in in_effect_now.schema.items()
            if name != ID
        )
    active = pl.col("_status").is_not_null()
    next_n = pl.min_horizontal(pl.col("_next"), pl.col("_override_day"))
    effective = frame.with_columns(
        pl.when(active).then(pl.col("score")).alias("computed_score"),
        pl.when(active).then(pl.col("status")).alias("computed_status"),
        pl.when(active)
        .then(pl.coalesce(pl.col("_score"), pl.col("score")))
        .otherwise(pl.col("score"))
        .alias("score"),
        pl.coalesce(pl.col("_status"), pl.col("status")).alias("status"),
        pl.coalesce(pl.col("_color"), pl.col("color")).alias("color"),
        (pl.lit(EPOCH) + pl.duration(days=next_n)).cast(pl.Date).alias("next_change_day"),
    )
    drop = [c for c in effective.collect_schema().names() if c.startswith(("fp", "fd", "_"))]
    return effective.drop(drop)


def _last_changes(
    changes: pl.LazyFrame | None, object_type: str, name: str, today: int
) -> pl.LazyFrame:
    """Per record, the day of the property's last change on or before `today`."""
    if changes is None:
        return pl.LazyFrame(schema={ID: pl.String, "day": pl.Int32})
    return (
        changes.filter(
            (pl.col("object_type") == object_type)
            & (pl.col("property") == name)
            & (pl.col("day") <= today)
        )
        .group_by(ID)
        .agg(pl.col("day").max())
    )


def _overrides_frame(
    definition: ScoreDefinition, overrides: tuple[Override, ...], as_of: datetime
) -> pl.DataFrame:
    """Per overridden record: the override in effect (status, score, colour, the override
    itself; null when none is) and the next day its overrides change the score."""
    names = {definition.name, *([definition.id] if definition.id else [])}
    by_record: dict[str, list[Override]] = {}
    for override in overrides:
        if override.object_type == definition.object_type and override.definition in names:
            by_record.setdefault(override.id, []).append(override)
    colors = {t.label: t.color for t in definition.thresholds}
    rows = []
    for record_id, own in by_record.items():
        current = in_effect(own, as_of)
        days = [day_number(d) for d in change_days(own, as_of)]
        rows.append(
            {
                ID: record_id,
                "_status": current.status if current else None,
                "_score": current.score if current else None,
                "_color": colors.get(current.status) if current else None,
                "override": current.to_json() if current else None,
                "_override_day": min(days, default=None),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            ID: pl.String,
            "_status": pl.String,
            "_score": pl.Int64,
            "_color": pl.String,
            "override": OVERRIDE,
            "_override_day": pl.Int64,
        },
    )


def computed(scores: pl.DataFrame) -> pl.DataFrame:
    """The scores frame with each record's computed score and status (an override set aside):
    what previews, what-ifs and threshold tuning judge a definition by."""
    return scores.with_columns(
        pl.coalesce("computed_score", "score").alias("score"),
        pl.coalesce("computed_status", "status").alias("status"),
    )
