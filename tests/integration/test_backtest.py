"""`healthscore backtest` on the sample portfolio, whose generator knows who churned and when:
the customer health example warns earlier and separates churners better than a definition that
ignores the churn signals (email opens only), compared at the same false-alarm load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import AS_OF, EXAMPLES, Run, healthscore

EMAIL_ONLY = {
    "name": "Email opens only",
    "object_type": "companies",
    "segments": ["seg-all-companies"],
    "groups": [
        {
            "name": "Email",
            "kind": "event",
            "max_points": 100,
            "rules": [
                {
                    "event_type": "email_opened",
                    "points": 5,
                    "timeframe": {"value": 30, "unit": "days"},
                    "limit": 100,
                }
            ],
        }
    ],
    "thresholds": [
        {"min": 0, "label": "At-risk", "color": "#d64545"},
        {"min": 40, "label": "Neutral", "color": "#e0a100"},
        {"min": 70, "label": "Healthy", "color": "#2e9d5b"},
    ],
}


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("backtest") / "portfolio"
    made = healthscore("sample-data", folder, "--companies", "300", "--seed", "9", "--until", AS_OF)
    assert made.returncode == 0, made.stderr
    assert (folder / "outcomes.jsonl").read_text().count("churned_at") >= 30
    return folder


def backtest(folder: Path, *extra: str | Path) -> Run:
    """`healthscore backtest` of the customer-health example, to mid-June 2026."""
    return healthscore(
        "backtest",
        folder,
        "-d",
        EXAMPLES / "customer-health-score.json",
        "--as-of",
        "2026-06-15T23:00:00Z",
        *extra,
    )


def test_the_example_warns_earlier_and_separates_better_than_email_opens(portfolio, tmp_path):
    email_only = tmp_path / "email-only.json"
    email_only.write_text(json.dumps(EMAIL_ONLY))
    run = backtest(
        portfolio, "--compare", email_only, "--weeks", "26", "--alarm-share", "0.2", "--json"
    )
    assert run.returncode == 0, run.stderr
    live, emails = json.loads(run.stdout)
    assert live["churned"] == emails["churned"] >= 30
    # the same false-alarm load, give or take the ties at one score
    assert live["false_alarm_share"] <= 0.2
    assert emails["false_alarm_share"] <= 0.2
    # Then the example separates churners better a month ahead, and warns earlier
    assert live["auc"] > emails["auc"] + 0.1
    assert live["lead_days_median"] > emails["lead_days_median"]
    assert live["warned_30_days_ahead"] > emails["warned_30_days_ahead"]
    assert live["warned"] > emails["warned"]


def test_the_table_and_the_lowest_status_by_default(portfolio):
    run = backtest(portfolio, "--weeks", "8")
    assert run.returncode == 0, run.stderr
    for words in ("lead time, median (days)", "false alarms per CSM per week", "ROC AUC"):
        assert words in run.stdout


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--outcome", "nope"], "--outcome nope: no companies record has that property"),
        (["--outcome", "industry"], "not a date"),
        (["--bound", "30", "--alarm-share", "0.2"], "choose one"),
        (["--weeks", "1"], "--weeks"),
    ],
)
def test_bad_requests_exit_2_naming_the_option(portfolio, extra, words):
    run = healthscore("backtest", portfolio, "-d", EXAMPLES / "customer-health-score.json", *extra)
    assert run.returncode == 2, run.stdout + run.stderr
    assert words in " ".join(run.stderr.split()), run.stderr  # (rich wraps long lines)


def test_a_dataset_without_outcomes_says_how_to_name_them(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "records.jsonl").write_text('{"object_type": "companies", "id": "c1"}\n')
    run = healthscore("backtest", folder, "-d", EXAMPLES / "customer-health-score.json")
    assert run.returncode == 2
    message = " ".join(run.stderr.split())
    assert "no outcomes.jsonl" in message
    assert "name a date property with --outcome" in message


def test_a_suggested_draft_validates_and_reports_its_hold_out_auc(portfolio, tmp_path):
    from healthscore.domain.validation import parse_definition

    draft = tmp_path / "fitted.json"
    run = backtest(portfolio, "--weeks", "20", "--suggest", draft, "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    suggestion = report["suggestion"]
    # Then the draft is a valid definition, a draft, named as fitted
    fitted = parse_definition(json.loads(draft.read_text()))
    assert fitted.state == "draft"
    assert fitted.name == "Customer health score (fitted)"
    # with integer points inside each group's max, signs following the fitted weights
    for group in fitted.groups:
        for rule in group.rules:
            assert rule.points is None or 0 < abs(rule.points) <= group.max_points
    for rule in suggestion["rules"]:
        if rule["suggested_points"]:
            assert (rule["suggested_points"] > 0) == (rule["weight"] < 0), rule
    # and both hold-out AUCs are reported, on the same accounts
    assert 0.5 < suggestion["holdout_auc_current"] <= 1
    assert 0 <= suggestion["holdout_auc_suggested"] <= 1
    assert 50 <= suggestion["holdout_accounts"] <= 150  # about 30 % of 300
    # the signal table: NPS detractors fire far more often among churners
    detractors = next(r for r in suggestion["rules"] if r["rule"] == "NPS / nps_score ≤ 6")
    assert detractors["fires_among_churned"] > 2 * detractors["fires_among_retained"]
    assert report["backtests"][0]["definition"] == "Customer health score"
