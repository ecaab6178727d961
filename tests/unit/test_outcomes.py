"""Threshold tuning's numbers, on cases small enough to check by hand."""

from __future__ import annotations

import polars as pl
import pytest

from healthscore.services.outcomes import (
    Threshold,
    roc_auc,
    separation,
    status_table,
    suggest_cutoff,
    with_mins,
)

THRESHOLDS = [
    Threshold("At-risk", 0, "#d64545"),
    Threshold("Neutral", 40, "#e0a800"),
    Threshold("Healthy", 70, "#2e9d5b"),
]
SCORED = pl.DataFrame(
    {
        "id": ["a", "b", "c", "d"],
        "score": [10, 30, 50, 80],
        "outcome": ["churned", "churned", "renewed", None],
    }
)


def test_status_table_counts_records_and_churn_per_status_lowest_first():
    table = status_table(SCORED, THRESHOLDS)
    assert table.select("status", "records", "churned", "renewed", "churn_rate").rows() == [
        ("At-risk", 2, 2, 0, 1.0),
        ("Neutral", 1, 0, 1, 0.0),
        ("Healthy", 1, 0, 0, None),  # no known outcome: no rate
    ]


def test_moving_a_threshold_moves_records_between_statuses():
    table = status_table(SCORED, with_mins(THRESHOLDS, [0, 20, 70]))
    assert table["records"].to_list() == [1, 2, 1]


def test_thresholds_stay_in_order_when_a_slider_passes_the_next():
    assert [t.min for t in with_mins(THRESHOLDS, [5, 60, 50])] == [0, 60, 60]


def test_precision_and_recall_of_the_lowest_status():
    both = separation(SCORED, 40)
    assert (both.flagged, both.precision, both.recall) == (2, 1.0, 1.0)
    half = separation(SCORED, 20)
    assert (half.flagged, half.precision, half.recall) == (1, 1.0, 0.5)


@pytest.mark.parametrize(
    ("scores", "outcomes", "auc"),
    [
        ([10, 30, 50], ["churned", "churned", "renewed"], 1.0),
        ([50, 10], ["churned", "renewed"], 0.0),
        ([50, 50], ["churned", "renewed"], 0.5),  # a tie counts half
        ([10, 60, 40, 90], ["churned", "churned", "renewed", "renewed"], 0.75),
    ],
)
def test_roc_auc_is_the_chance_a_churner_scores_below_a_renewal(scores, outcomes, auc):
    frame = pl.DataFrame({"score": scores, "outcome": outcomes})
    assert roc_auc(frame) == pytest.approx(auc)


def test_roc_auc_needs_both_outcomes():
    assert roc_auc(pl.DataFrame({"score": [1], "outcome": ["churned"]})) is None


def test_the_suggested_cutoff_is_the_lowest_meeting_the_target_recall():
    assert suggest_cutoff(SCORED, 0.5) == 11
    assert suggest_cutoff(SCORED, 1.0) == 31
    assert separation(SCORED, 31).recall == 1.0
    assert separation(SCORED, 30).recall == 0.5
