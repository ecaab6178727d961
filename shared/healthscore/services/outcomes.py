"""How well a health score separates customers who churned from those who renewed — the numbers
behind threshold tuning (notebooks/threshold_tuning.py).

Input: one row per scored record with its `score` and an `outcome` (e.g. the sample portfolio's
`renewal_outcome`: "renewed" / "churned"; records with no outcome yet are left out of the
rates). A low score is meant to flag risk, so the positive class ("churned") should sit low.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from healthscore.domain.definition import ScoreDefinition

CHURNED = "churned"


@dataclass(frozen=True, slots=True)
class Threshold:
    label: str
    min: int
    color: str


def thresholds_of(definition: ScoreDefinition) -> list[Threshold]:
    """The definition's thresholds, lowest first."""
    return sorted(
        (Threshold(t.label, t.min, t.color) for t in definition.thresholds), key=lambda t: t.min
    )


def with_mins(thresholds: Sequence[Threshold], mins: Sequence[int]) -> list[Threshold]:
    """The same statuses with new lower bounds (kept in order: each at least the previous)."""
    result: list[Threshold] = []
    floor = 0
    for threshold, low in zip(thresholds, mins, strict=True):
        floor = max(floor, int(low)) if result else 0
        result.append(Threshold(threshold.label, floor, threshold.color))
    return result


def status_expr(thresholds: Sequence[Threshold], score: str = "score") -> pl.Expr:
    """The label of the highest threshold whose min ≤ score (docs/scoring-semantics.md)."""
    ordered = sorted(thresholds, key=lambda t: t.min)
    expr = pl.lit(ordered[0].label)
    for threshold in ordered[1:]:
        expr = pl.when(pl.col(score) >= threshold.min).then(pl.lit(threshold.label)).otherwise(expr)
    return expr


def status_table(scored: pl.DataFrame, thresholds: Sequence[Threshold]) -> pl.DataFrame:
    """Per status (lowest first): records, churned, renewed, churn rate among known outcomes."""
    labelled = scored.with_columns(status_expr(thresholds).alias("status"))
    known = pl.col("outcome").is_not_null()
    counts = labelled.group_by("status").agg(
        pl.len().alias("records"),
        (pl.col("outcome") == CHURNED).sum().alias("churned"),
        (known & (pl.col("outcome") != CHURNED)).sum().alias("renewed"),
    )
    order = pl.DataFrame(
        {"status": [t.label for t in thresholds], "color": [t.color for t in thresholds]}
    )
    table = order.join(counts, on="status", how="left").fill_null(0)
    decided = pl.col("churned") + pl.col("renewed")
    return table.with_columns(
        pl.when(decided > 0).then(pl.col("churned") / decided).alias("churn_rate")
    )


@dataclass(frozen=True, slots=True)
class Separation:
    """How the lowest status catches churners: precision and recall of "score < cutoff"."""

    cutoff: int
    flagged: int
    precision: float | None
    recall: float | None


def separation(scored: pl.DataFrame, cutoff: int) -> Separation:
    known = scored.filter(pl.col("outcome").is_not_null())
    churned = known["outcome"] == CHURNED
    flagged = known["score"] < cutoff
    caught = int((churned & flagged).sum())
    flagged_n, churned_n = int(flagged.sum()), int(churned.sum())
    return Separation(
        cutoff,
        flagged_n,
        caught / flagged_n if flagged_n else None,
        caught / churned_n if churned_n else None,
    )


def roc_auc(scored: pl.DataFrame) -> float | None:
    """Probability that a churned record scores lower than a renewed one (ties count half):
    the ROC AUC of "low score ⇒ churn". None without both outcomes."""
    known = scored.filter(pl.col("outcome").is_not_null())
    ranked = known.with_columns(pl.col("score").rank("average").alias("rank"))
    renewed = ranked.filter(pl.col("outcome") != CHURNED)
    churned_n, renewed_n = ranked.height - renewed.height, renewed.height
    if not churned_n or not renewed_n:
        return None
    # Mann–Whitney: the renewed ranks' sum says how often renewed outscore churned.
    u = float(renewed["rank"].sum()) - renewed_n * (renewed_n + 1) / 2
    return u / (churned_n * renewed_n)


def suggest_cutoff(scored: pl.DataFrame, target_recall: float) -> int | None:
    """The lowest cutoff c (score < c is the lowest status) catching at least `target_recall`
    of the churners — the least alarm that still meets the target."""
    churned = scored.filter(pl.col("outcome") == CHURNED)["score"].sort()
    if churned.is_empty():
        return None
    needed = max(1, math.ceil(target_recall * churned.len() - 1e-9))
    return min(100, int(churned[needed - 1]) + 1)
