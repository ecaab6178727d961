"""Backtest: would this definition have warned us, and how early? (notebooks/backtest.py,
`healthscore backtest`).

The score is replayed weekly over the event log (each property as it was on each day, overrides
set aside: the definition is judged, not the CSMs). An account is **flagged** in a week when it
is in the lowest status (or scores below `bound`). For every churned account: the first week
within `horizon` days before its churn date in which it was flagged gives the **lead time**;
one never flagged in that window was not warned (lead time 0, in the distribution too). For
every retained account: the share of weeks it was flagged — the false alarms a CSM team works
through, per CSM per week. And how well the score a month ahead separates who churns from who
stays (ROC AUC): each churner's score in the last week at least `AHEAD_DAYS` before its churn,
against every retained account's score in the same weeks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from healthscore.domain.batch_engine import property_text, score_frames
from healthscore.domain.batch_frames import Frames
from healthscore.domain.batch_inputs import computed
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.values import as_day
from healthscore.services.analytics import trend_days
from healthscore.services.outcomes import CHURNED, roc_auc

AHEAD_DAYS = 30  # "warned a month ahead": the lead time the share and the AUC are read at
OUTCOMES_FILE = "outcomes.jsonl"


class OutcomesError(ValueError):
    """The outcomes cannot be read: a bad line, or no such property."""


@dataclass(frozen=True)
class Backtest:
    name: str
    weeks: int
    churned: int  # churned accounts with a churn day inside the replayed weeks
    warned: int  # of which flagged within the horizon before churning
    lead_median: float | None
    lead_q1: float | None
    lead_q3: float | None
    warned_ahead: float | None  # share of churners warned at least AHEAD_DAYS before
    retained: int
    false_alarm_share: float | None  # of retained account-weeks, the share flagged
    false_alarms_per_csm_week: float | None
    auc: float | None
    accounts: pl.DataFrame  # id, churned_at, first_flagged, lead_days (churners only)

    def summary(self) -> dict[str, object]:
        return {
            "definition": self.name,
            "weeks": self.weeks,
            "churned": self.churned,
            "warned": self.warned,
            "lead_days_median": self.lead_median,
            "lead_days_q1": self.lead_q1,
            "lead_days_q3": self.lead_q3,
            f"warned_{AHEAD_DAYS}_days_ahead": self.warned_ahead,
            "retained": self.retained,
            "false_alarm_share": self.false_alarm_share,
            "false_alarms_per_csm_week": self.false_alarms_per_csm_week,
            "auc": self.auc,
        }


def read_outcomes(
    folder: Path, frames: Frames, object_type: str, prop: str | None
) -> dict[str, date]:
    """Churn days by record id: from the `prop` property of the records (a date; empty: not
    churned), else from the folder's outcomes.jsonl (`{"object_type","id","churned_at"}`)."""
    if prop is not None:
        values = property_text(frames, object_type, prop)
        if values[prop].null_count() == values.height and values.height:
            raise OutcomesError(f"--outcome {prop}: no {object_type} record has that property")
        days = {}
        for record_id, text in values.iter_rows():
            day = as_day(text) if text is not None else None
            if text is not None and day is None:
                raise OutcomesError(f"--outcome {prop}: {record_id} has {text!r}, not a date")
            if day is not None:
                days[str(record_id)] = day
        return days
    path = folder / OUTCOMES_FILE
    if not path.exists():
        raise OutcomesError(
            f"{folder}: no {OUTCOMES_FILE}; name a date property with --outcome (e.g. churned_at)"
        )
    days = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            day = as_day(row.get("churned_at"))
        except (json.JSONDecodeError, AttributeError) as error:
            raise OutcomesError(f"{OUTCOMES_FILE} line {number}: not a JSON object") from error
        if day is None:
            raise OutcomesError(f"{OUTCOMES_FILE} line {number}: churned_at must be a date")
        if row.get("object_type", object_type) == object_type:
            days[str(row.get("id"))] = day
    return days


def weekly_scores(
    definition: ScoreDefinition, frames: Frames, until: datetime, weeks: int
) -> pl.DataFrame:
    """as_of, id, score, status: every record's computed score each week up to `until`."""
    parts = [
        computed(score_frames(definition, frames, moment).frame).select(
            pl.lit(moment.date()).alias("as_of"), "id", "score", "status"
        )
        for moment in trend_days(until, 7, weeks)
    ]
    return pl.concat(parts)


def backtest(
    definition: ScoreDefinition,
    frames: Frames,
    churned_at: Mapping[str, date],
    until: datetime,
    *,
    weeks: int = 52,
    horizon: int = 90,
    bound: int | None = None,
    alarm_share: float | None = None,
    owner: str = "csm_owner",
    history: pl.DataFrame | None = None,
) -> Backtest:
    """`bound`: flagged below this score (default: in the lowest status); `alarm_share`: the
    bound that flags at most this share of the retained accounts' weeks — two definitions
    compared at the same false-alarm load. `history`: the weekly scores already replayed
    (`weekly_scores`), to flag them again without replaying."""
    if history is None:
        history = weekly_scores(definition, frames, until, weeks)
    if alarm_share is not None:
        bound = alarm_bound(history, churned_at, alarm_share)
    lowest = min(definition.thresholds, key=lambda t: t.min).label
    flagged = pl.col("score") < bound if bound is not None else pl.col("status") == lowest
    churn = pl.DataFrame(
        {"id": list(churned_at), "churned_at": list(churned_at.values())},
        schema={"id": pl.String, "churned_at": pl.Date},
    )
    first = history["as_of"].min() if history.height else None
    weekly = history.with_columns(flagged.alias("flagged")).join(churn, on="id", how="left")
    in_range = pl.col("churned_at").is_not_null() & (pl.col("churned_at") <= until.date())
    if first is not None:
        in_range = in_range & (pl.col("churned_at") > first)
    churners = weekly.filter(in_range)
    before = churners.filter(
        (pl.col("as_of") < pl.col("churned_at"))
        & (pl.col("as_of") >= pl.col("churned_at") - pl.duration(days=horizon))
    )
    accounts = (
        churners.select("id", "churned_at")
        .unique()
        .join(
            before.filter(pl.col("flagged"))
            .group_by("id")
            .agg(pl.col("as_of").min().alias("first_flagged")),
            on="id",
            how="left",
        )
        .with_columns(
            (pl.col("churned_at") - pl.col("first_flagged"))
            .dt.total_days()
            .fill_null(0)
            .alias("lead_days")
        )
        .sort("id")
    )
    leads = accounts["lead_days"]  # 0: never warned
    retained = weekly.filter(pl.col("churned_at").is_null())
    owners = property_text(frames, definition.object_type, owner) if retained.height else None
    csms = (
        retained.join(owners, on="id", how="left")[owner].n_unique()
        if owners is not None and owner in owners.columns
        else 1
    )
    weeks_seen = history["as_of"].n_unique()
    flagged_weeks = int(retained["flagged"].sum()) if retained.height else 0
    return Backtest(
        name=definition.name,
        weeks=weeks_seen,
        churned=accounts.height,
        warned=int(accounts["first_flagged"].is_not_null().sum()),
        lead_median=_quantile(leads, 0.5),
        lead_q1=_quantile(leads, 0.25),
        lead_q3=_quantile(leads, 0.75),
        warned_ahead=(
            round(int((leads >= AHEAD_DAYS).sum()) / accounts.height, 3)
            if accounts.height
            else None
        ),
        retained=retained["id"].n_unique(),
        false_alarm_share=round(flagged_weeks / retained.height, 3) if retained.height else None,
        false_alarms_per_csm_week=(
            round(flagged_weeks / (max(csms, 1) * weeks_seen), 2) if weeks_seen else None
        ),
        auc=auc_ahead(churners, retained),
        accounts=accounts,
    )


def alarm_bound(history: pl.DataFrame, churned_at: Mapping[str, date], share: float) -> int:
    """The highest bound b (scores below b flagged) that flags at most `share` of the retained
    accounts' weeks."""
    if not 0 < share < 1:
        raise ValueError("the alarm share must be between 0 and 1")
    scores = history.filter(~pl.col("id").is_in(list(churned_at)))["score"]
    if scores.is_empty():
        return 0
    best = 0
    for bound in range(0, 102):
        flagged = int((scores < bound).sum())
        if flagged <= share * scores.len():
            best = bound
    return best


def _quantile(values: pl.Series, q: float) -> float | None:
    if values.is_empty():
        return None
    value = values.cast(pl.Float64).quantile(q, interpolation="linear")
    return None if value is None else float(value)


def auc_ahead(churners: pl.DataFrame, retained: pl.DataFrame) -> float | None:
    """The score a month ahead: churners in their last week ≥ AHEAD_DAYS before churn, against
    the retained accounts in the same weeks."""
    ahead = (
        churners.filter(pl.col("as_of") <= pl.col("churned_at") - pl.duration(days=AHEAD_DAYS))
        .sort("as_of")
        .group_by("id")
        .last()
    )
    if ahead.is_empty():
        return None
    weeks = ahead.select("as_of").unique()
    rows = pl.concat(
        [
            ahead.select("score", pl.lit(CHURNED).alias("outcome")),
            retained.join(weeks, on="as_of").select("score", pl.lit("renewed").alias("outcome")),
        ]
    )
    auc = roc_auc(rows)
    return None if auc is None else round(auc, 3)
