"""The synthetic portfolio: deterministic, realistic, and scoring to a spread of statuses."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, date, datetime

from healthscore.adapters.dataset_files import read_dataset
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.reference_engine import score
from healthscore.domain.templates import build_from_templates

END = date(2026, 6, 15)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_files_and_another_seed_differs(tmp_path):
    generate_portfolio(tmp_path / "a", 40, seed=3, until=END)
    generate_portfolio(tmp_path / "b", 40, seed=3, until=END)
    generate_portfolio(tmp_path / "c", 40, seed=4, until=END)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_a_slice_is_the_prefix_of_a_bigger_portfolio(tmp_path):
    generate_portfolio(tmp_path / "small", 10, seed=3, until=END)
    generate_portfolio(tmp_path / "big", 20, seed=3, until=END)
    small = (tmp_path / "small" / "records.jsonl").read_text()
    assert (tmp_path / "big" / "records.jsonl").read_text().startswith(small)


def test_portfolio_has_what_a_cs_team_tracks(tmp_path):
    summary = generate_portfolio(tmp_path, 300, seed=1, until=END)
    data = read_dataset(tmp_path)
    companies = data.records_of("companies")
    assert len(companies) == summary.companies == 300
    for field in (
        "industry",
        "region",
        "csm_owner",
        "employees",
        "renewal_date",
        "renewal_outcome",
    ):
        assert all(field in c.properties for c in companies), field
    assert any("nps_score" in c.properties for c in companies)
    assert any("csm_sentiment" in c.properties for c in companies)
    assert {"steady", "growing", "declining", "churning"} == set(summary.trajectories)
    assert all(count > 0 for count in summary.trajectories.values())
    assert 3 * 300 < summary.contacts < 8 * 300
    assert summary.deals > 0
    assert summary.tickets > 0
    contacts = data.records_of("contacts")
    assert {"Decision maker", "Champion", "Billing contact"} <= {
        c.properties["role"] for c in contacts
    }
    labels = {
        label for c in companies for n in data.neighbours(c.key, "contacts") for label in n.labels
    }
    assert {"Decision maker", "Champion"} <= labels
    tickets = data.records_of("tickets")
    assert {"closed"} < {t.properties["status"] for t in tickets}
    assert data.event_count == summary.events
    types = Counter(
        e.type
        for c in contacts
        for t in ("meeting_booked", "email_opened", "call_ended")
        for e in data.events_of(c.key, t)
    )
    assert all(types[t] > 0 for t in ("meeting_booked", "email_opened", "call_ended"))


def test_the_template_score_spreads_statuses_and_separates_churners(tmp_path):
    generate_portfolio(tmp_path, 600, seed=11, until=END)
    data = read_dataset(tmp_path)
    definition = build_from_templates("Customer health", ["seg-all-companies"])
    results = score(definition, data, datetime(2026, 6, 15, 18, tzinfo=UTC))
    statuses = Counter(r.status for r in results)
    assert len(results) == 600
    assert all(statuses[label] >= 30 for label in ("At-risk", "Neutral", "Healthy")), statuses
    outcome = {c.id: c.properties["renewal_outcome"] for c in data.records_of("companies")}
    mean = {
        o: sum(r.score for r in results if outcome[r.id] == o)
        / sum(1 for r in results if outcome[r.id] == o)
        for o in ("renewed", "churned")
    }
    assert mean["renewed"] > mean["churned"] + 15, mean


def test_property_histories_end_in_the_records_values_and_move_the_past(tmp_path):
    """NPS answers, sentiment updates and ticket statuses over the year: on the last day the
    history gives exactly the records' values; months back, many companies held other values."""
    generate_portfolio(tmp_path / "p", 60, seed=3, until=END)
    data = read_dataset(tmp_path / "p")
    assert data.property_changes
    assert {c.name for c in data.property_changes} == {
        "nps_score",
        "nps_date",
        "csm_sentiment",
        "csm_sentiment_updated",
        "status",  # tickets'
    }
    end = datetime(2026, 6, 15, 23, tzinfo=UTC)
    last_day = data.at(end)
    assert all(last_day.record(r.key).properties == r.properties for r in data.all_records())
    earlier = data.at(datetime(2026, 1, 15, tzinfo=UTC))
    moved = [r for r in data.all_records() if earlier.record(r.key).properties != r.properties]
    assert len(moved) >= 30
    assert all(c.changed_at <= end for c in data.property_changes)


def test_a_years_trend_starts_level_not_from_a_warm_up_ramp(tmp_path):
    """Activity and histories begin well before the year: the first week of a year's trend is
    about where the last one is, and tickets open and close over the year."""
    import json
    from datetime import timedelta
    from pathlib import Path

    from healthscore.domain.validation import parse_definition

    generate_portfolio(tmp_path, 200, seed=5, until=END)
    data = read_dataset(tmp_path)
    raw = json.loads(
        (Path(__file__).parents[2] / "docs/examples/customer-health-score.json").read_text()
    )
    definition = parse_definition(raw)
    last = datetime(2026, 6, 15, 12, tzinfo=UTC)

    def average(as_of: datetime) -> float:
        results = score(definition, data, as_of)
        return sum(r.score for r in results) / len(results)

    first, final = average(last - timedelta(days=364)), average(last)
    assert first >= 0.8 * final, (first, final)  # no ramp up from empty timeframes
    assert first <= 1.25 * final, (first, final)
    warm_up = [e for e in data.all_events() if e.day < (last - timedelta(days=365)).date()]
    assert len(warm_up) >= data.event_count // 10
    statuses = Counter(
        (c.value, c.changed_at.date() <= END) for c in data.property_changes if c.name == "status"
    )
    assert statuses[("new", True)] >= 100
    assert statuses[("closed", True)] >= 50
    # a ticket closed now was open at some point of the year
    changes = [c for c in data.property_changes if c.object_type == "tickets"]
    closed_later = {c.id for c in changes if c.value == "closed"}
    assert closed_later
    assert all(
        any(c.id == t and c.value == "new" for c in changes) for t in list(closed_later)[:20]
    )
