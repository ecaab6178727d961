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
    """NPS answers and sentiment updates over the year: on the last day the history gives
    exactly the records' values; months back, many companies held other values."""
    generate_portfolio(tmp_path / "p", 60, seed=3, until=END)
    data = read_dataset(tmp_path / "p")
    assert data.property_changes
    assert {c.name for c in data.property_changes} == {
        "nps_score",
        "nps_date",
        "csm_sentiment",
        "csm_sentiment_updated",
    }
    end = datetime(2026, 6, 15, 23, tzinfo=UTC)
    last_day = data.at(end)
    assert all(last_day.record(r.key).properties == r.properties for r in data.all_records())
    earlier = data.at(datetime(2026, 1, 15, tzinfo=UTC))
    moved = [r for r in data.all_records() if earlier.record(r.key).properties != r.properties]
    assert len(moved) >= 30
    assert all(c.changed_at <= end for c in data.property_changes)
