"""Which rules carry signal, and a points table fitted from outcomes (notebooks/backtest.py,
`healthscore backtest --suggest`).

Per rule: how often it fires (earns points) among churned accounts in the weeks before their
churn (within the horizon) and among retained accounts in every week. Then a regularised
logistic regression over the rules' hits — churners' pre-churn weeks against retained weeks,
classes balanced, fitted on 70 % of the accounts — gives each rule a weight; within each group
one scale for every rule — the strongest signal earns the largest group's max points, the others
in proportion, each within its group's max — rounded to integers (a rule rounding to 0 is
dropped unless it is its group's last). That is a
*suggestion fitted to history*, written as a draft definition; its ROC AUC a month ahead on the
30 % of accounts left out of the fit is reported beside the current definition's on the same
accounts.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from healthscore.domain.batch_engine import score_frames
from healthscore.domain.batch_frames import Frames
from healthscore.domain.batch_inputs import computed
from healthscore.domain.definition import DefinitionError, ScoreDefinition
from healthscore.domain.score_state import rule_name
from healthscore.domain.validation import validate_definition
from healthscore.services.analytics import trend_days
from healthscore.services.backtest import auc_ahead

HOLD_OUT = 0.3  # share of accounts kept out of the fit, to judge it on


class SuggestionUnavailable(RuntimeError):
    """scikit-learn is not installed, or the outcomes cannot fit a model."""


@dataclass(frozen=True)
class RuleSignal:
    rule: str  # "Group / description"
    churned_rate: float  # share of churners' pre-churn weeks it fires in
    retained_rate: float  # share of retained accounts' weeks it fires in
    weight: float | None = None  # the fitted coefficient (positive: more churn)
    points: int | None = None  # suggested points (0: dropped; None: kept, scored by value)


@dataclass(frozen=True)
class Suggestion:
    draft: dict[str, Any]
    signals: list[RuleSignal]
    holdout_auc_current: float | None
    holdout_auc_suggested: float | None
    holdout_accounts: int


def weekly_hits(
    definition: ScoreDefinition, frames: Frames, until: datetime, weeks: int
) -> pl.DataFrame:
    """as_of, id, score, h0…hN: each record's computed score and which rules earned points."""
    parts = []
    for moment in trend_days(until, 7, weeks):
        result = score_frames(definition, frames, moment)
        parts.append(
            computed(result.frame).select(
                pl.lit(moment.date()).alias("as_of"),
                "id",
                "score",
                *((pl.col(c) != 0).alias(f"h{i}") for i, c in enumerate(result.rule_columns)),
            )
        )
    return pl.concat(parts)


def labelled(hits: pl.DataFrame, churned_at: Mapping[str, date], horizon: int) -> pl.DataFrame:
    """The rows a model learns from: churners' weeks within `horizon` days before churn (y=1),
    retained accounts' weeks (y=0); churners' other weeks are left out."""
    churn = pl.DataFrame(
        {"id": list(churned_at), "churned_at": list(churned_at.values())},
        schema={"id": pl.String, "churned_at": pl.Date},
    )
    joined = hits.join(churn, on="id", how="left")
    before = (pl.col("as_of") < pl.col("churned_at")) & (
        pl.col("as_of") >= pl.col("churned_at") - pl.duration(days=horizon)
    )
    return joined.filter(pl.col("churned_at").is_null() | before).with_columns(
        pl.col("churned_at").is_not_null().cast(pl.Int8).alias("y")
    )


def rule_names(definition: ScoreDefinition) -> list[str]:
    return [
        rule_name(group.name, None, rule.description or rule.summary())
        for group in definition.groups
        for rule in group.rules
    ]


def signals(definition: ScoreDefinition, rows: pl.DataFrame) -> list[RuleSignal]:
    names = rule_names(definition)
    churned, retained = rows.filter(pl.col("y") == 1), rows.filter(pl.col("y") == 0)

    def rate(frame: pl.DataFrame, column: str) -> float:
        return round(int(frame[column].sum()) / frame.height, 3) if frame.height else 0.0

    return [
        RuleSignal(name, rate(churned, f"h{i}"), rate(retained, f"h{i}"))
        for i, name in enumerate(names)
    ]


def in_hold_out(record_id: str) -> bool:
    """A stable 30 % of accounts, by a hash of the id (the same split on every run)."""
    digest = hashlib.sha256(record_id.encode()).digest()
    return digest[0] / 256 < HOLD_OUT


def suggest(
    definition: ScoreDefinition,
    raw: Mapping[str, Any],
    frames: Frames,
    churned_at: Mapping[str, date],
    until: datetime,
    *,
    weeks: int = 52,
    horizon: int = 90,
) -> Suggestion:
    try:
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    except ImportError as error:  # an analytics extra, not a runtime dependency
        raise SuggestionUnavailable(
            "fitting points needs scikit-learn: pip install 'healthscore[analytics]'"
        ) from error
    hits = weekly_hits(definition, frames, until, weeks)
    rows = labelled(hits, churned_at, horizon)
    train = rows.filter(~pl.col("id").map_elements(in_hold_out, return_dtype=pl.Boolean))
    features = [f"h{i}" for i in range(len(rule_names(definition)))]
    if train["y"].n_unique() < 2:
        raise SuggestionUnavailable("the outcomes need both churned and retained accounts")
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    model.fit(train.select(features).cast(pl.Float64).to_numpy(), train["y"].to_numpy())
    weights = [float(w) for w in model.coef_[0]]
    draft, points = _draft(raw, definition, weights)
    held = {i for i in hits["id"].unique().to_list() if in_hold_out(i)}
    fitted = _parsed(draft)
    current_auc = _auc_on(hits, churned_at, held)
    suggested_auc = _auc_on(weekly_hits(fitted, frames, until, weeks), churned_at, held)
    found = signals(definition, rows)
    return Suggestion(
        draft,
        [
            RuleSignal(s.rule, s.churned_rate, s.retained_rate, round(w, 3), p)
            for s, w, p in zip(found, weights, points, strict=True)
        ],
        current_auc,
        suggested_auc,
        len(held),
    )


def _draft(
    raw: Mapping[str, Any], definition: ScoreDefinition, weights: list[float]
) -> tuple[dict[str, Any], list[int | None]]:
    """The definition with fitted points: one scale for every rule, the strongest weight
    earning the largest group's max points, each rule within its group's max."""
    draft = copy.deepcopy(dict(raw))
    draft.pop("id", None)
    draft["name"] = f"{definition.name} (fitted)"[:100]
    draft["state"] = "draft"
    points: list[int | None] = []
    index = 0
    strongest = max((abs(w) for w in weights), default=0.0) or 1.0
    largest = max(group.max_points for group in definition.groups)
    for group_raw, group in zip(draft["groups"], definition.groups, strict=True):
        own = weights[index : index + len(group.rules)]
        index += len(group.rules)
        kept = []
        for rule_raw, rule, weight in zip(group_raw["rules"], group.rules, own, strict=True):
            rule_raw.pop("id", None)
            if rule.points is None:  # scored individually: its points by value stay
                kept.append(rule_raw)
                points.append(None)
                continue
            value = max(
                -group.max_points, min(group.max_points, round(-weight / strongest * largest))
            )
            if value == 0:
                points.append(0)  # no signal worth a point: dropped
                continue
            rule_raw["points"] = max(-100, min(100, value))
            if rule_raw.get("limit") is not None:
                rule_raw["limit"] = max(int(rule_raw["limit"]), abs(rule_raw["points"]))
            kept.append(rule_raw)
            points.append(rule_raw["points"])
        if not kept:  # no signal at all: keep its first rule at a token point
            first = group_raw["rules"][0]
            first["points"] = -1 if own and own[0] > 0 else 1
            kept = [first]
        group_raw.pop("id", None)
        group_raw["rules"] = kept
    return draft, points


def _parsed(raw: Mapping[str, Any]) -> ScoreDefinition:
    definition, issues = validate_definition(raw)
    if definition is None:
        raise DefinitionError(issues)
    return definition


def _auc_on(
    hits: pl.DataFrame, churned_at: Mapping[str, date], accounts: Collection[str]
) -> float | None:
    churn = pl.DataFrame(
        {"id": list(churned_at), "churned_at": list(churned_at.values())},
        schema={"id": pl.String, "churned_at": pl.Date},
    )
    weekly = hits.filter(pl.col("id").is_in(list(accounts))).join(churn, on="id", how="left")
    churners = weekly.filter(pl.col("churned_at").is_not_null())
    return auc_ahead(churners, weekly.filter(pl.col("churned_at").is_null()))
