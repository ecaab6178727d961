"""Preview, what-if, trend and reports: every figure checked against the reference engine."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from statistics import median

import pytest

from healthscore.adapters.dataset_files import read_dataset
from healthscore.adapters.dataset_frames import frames_from_dataset
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.reference_engine import score
from healthscore.domain.validation import parse_definition
from healthscore.services import analytics
from tests.builders import AS_OF

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "customer-health-score.json"


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("portfolio")
    generate_portfolio(folder, 300, seed=11, until=AS_OF.date())
    data = read_dataset(folder)
    return data, frames_from_dataset(data)


@pytest.fixture(scope="module")
def live():
    return parse_definition(json.loads(EXAMPLE.read_text()))


def test_preview_counts_every_scored_record_once_per_bin_and_status(portfolio, live):
    data, frames = portfolio
    expected = score(live, data, AS_OF)
    assert any(r.override for r in expected)  # the sample's CSMs overrode a few
    result = analytics.preview(live, frames, AS_OF)
    assert result.scored == len(expected) == result.bins["count"].sum()
    assert result.bins.height == 20  # 0–4 … 95–100
    # a preview judges the definition: computed scores and statuses, overrides set aside
    by_bin = Counter(
        min(r.score if r.computed_score is None else r.computed_score, 99) // 5 * 5
        for r in expected
    )
    assert dict(zip(result.bins["low"], result.bins["count"], strict=True)) == {
        low: by_bin.get(low, 0) for low in range(0, 100, 5)
    }
    statuses = Counter(r.computed_status or r.status for r in expected)
    assert dict(result.statuses.select("status", "count").iter_rows()) == {
        t.label: statuses.get(t.label, 0) for t in live.thresholds
    }
    assert result.median == median(r.score for r in expected)


def test_what_if_lists_exactly_the_records_whose_status_changes(portfolio, live):
    data, frames = portfolio
    raw = json.loads(EXAMPLE.read_text())
    raw["thresholds"][2]["min"] = 60  # "Healthy" from 60 instead of 70
    draft = parse_definition(raw)
    before = {r.id: r for r in score(live, data, AS_OF)}
    after = {r.id: r for r in score(draft, data, AS_OF)}
    moved = {i for i in before if before[i].status != after[i].status}

    result = analytics.what_if(live, draft, frames, AS_OF)

    assert moved, "the sample should have records between 60 and 69"
    assert result.changed_status == len(moved)
    assert result.changed_score == 0  # thresholds only move statuses
    assert set(result.transitions["status_draft"]) == {"Healthy"}


def test_what_if_movers_show_each_name_beside_its_id_and_why(portfolio, live):
    data, frames = portfolio
    raw = json.loads(EXAMPLE.read_text())
    nps = next(g for g in raw["groups"] if g["name"] == "NPS")
    detractors = next(rule for rule in nps["rules"] if rule["points"] < 0)
    detractors["points"] = -20  # detractors cost 20 points instead of 15
    draft = parse_definition(raw)
    result = analytics.what_if(live, draft, frames, AS_OF)
    assert result.movers.height > 0
    assert result.movers.columns[:2] == ["name", "id"]
    for name, record_id, why in result.movers.select("name", "id", "why").iter_rows():
        assert name == data.record(("companies", record_id)).properties["name"]
        assert why.startswith("NPS ")  # only the NPS group moved


def test_what_if_against_itself_changes_nothing(portfolio, live):
    _data, frames = portfolio
    result = analytics.what_if(live, live, frames, AS_OF)
    assert (result.changed_status, result.changed_score, result.movers.height) == (0, 0, 0)
    assert result.compared > 0


def test_trend_replays_the_reference_score_at_every_as_of_day(portfolio, live):
    data, frames = portfolio
    days = analytics.trend_days(AS_OF, 30, 4)
    history = analytics.trend(live, frames, days)
    assert history["as_of"].unique().sort().to_list() == [d.date() for d in days]
    for moment in days:
        expected = [(r.id, r.score, r.status) for r in score(live, data, moment)]
        got = history.filter(history["as_of"] == moment.date()).select("id", "score", "status")
        assert got.rows() == expected
    # Deterministic: the same replay twice gives the same rows
    assert analytics.trend(live, frames, days).equals(history)


def test_trend_days_end_at_the_as_of_and_go_back_evenly():
    days = analytics.trend_days(AS_OF, 7, 3)
    assert days == [AS_OF - timedelta(days=14), AS_OF - timedelta(days=7), AS_OF]
    with pytest.raises(ValueError, match="at least 1"):
        analytics.trend_days(AS_OF, 0, 3)


def test_report_by_property_matches_the_reference_scores(portfolio, live):
    data, frames = portfolio
    expected = score(live, data, AS_OF)
    rows = analytics.report(live, frames, AS_OF, "industry")
    industry = {r.id: data.record(("companies", r.id)).properties["industry"] for r in expected}
    for row in rows.iter_rows(named=True):
        members = [r for r in expected if industry[r.id] == row["industry"]]
        assert row["scored"] == len(members)
        assert row["average"] == round(sum(r.score for r in members) / len(members), 1)
        assert row["At-risk"] == sum(r.status == "At-risk" for r in members)
    assert rows["scored"].sum() == len(expected)


def test_report_by_segment_counts_each_segments_members(portfolio, live):
    data, frames = portfolio
    expected = score(live, data, AS_OF)
    rows = {r["segment"]: r for r in analytics.report(live, frames, AS_OF, "segment").to_dicts()}
    upmarket = data.segments["seg-upmarket"]
    members = [
        r for r in expected if upmarket.matches(data.record(("companies", r.id)), AS_OF.date())
    ]
    assert rows[upmarket.name]["scored"] == len(members)
    assert rows["All companies"]["scored"] == len(expected)


def test_report_by_an_unknown_property_names_the_known_ones(portfolio, live):
    _data, frames = portfolio
    with pytest.raises(analytics.UnknownProperty, match="industry"):
        analytics.report(live, frames, AS_OF, "favourite_colour")
