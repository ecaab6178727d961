"""The score table: names beside ids and a "why" — the same from either engine."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from healthscore.adapters.dataset_frames import frames_from_dataset
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.validation import parse_definition
from healthscore.domain.values import display_name
from healthscore.services.analytics import record_names
from healthscore.services.score_table import pull_down, score_table
from healthscore.services.scoring import Engine
from tests.builders import (
    AS_OF,
    company,
    contact,
    dataset,
    definition,
    property_group,
    record,
    self_rule,
)

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "customer-health-score.json"


def test_names_are_what_a_csm_calls_each_record():
    data = dataset(
        company("c1", name="Acme", domain="acme.example"),
        company("c2", domain="globex.example"),
        company("c3"),
        contact("p1", firstname="Ada", lastname="Lovelace", email="ada@example.com"),
        contact("p2", email="grace@example.com"),
        contact("p3", lastname="Hopper"),
        record("tickets", "t1", subject="Cannot log in"),
    )
    frames = frames_from_dataset(data)
    expected = {
        "companies": {"c1": "Acme", "c2": "globex.example", "c3": None},
        "contacts": {"p1": "Ada Lovelace", "p2": "grace@example.com", "p3": "Hopper"},
        "tickets": {"t1": "Cannot log in"},
    }
    for object_type, names in expected.items():
        assert dict(record_names(frames, object_type).iter_rows()) == names
        # the reference engine's side says the same
        for record_id, name in names.items():
            properties = data.record((object_type, record_id)).properties
            assert display_name(object_type, properties) == name


def test_why_lists_the_worst_rules_then_the_groups_short_of_half_and_an_override_first():
    defn = definition(
        property_group(
            self_rule("nps", "lte", 6, -15) | {"description": "Detractor on the last NPS"},
            self_rule("tickets", "gt", 3, -5),
            self_rule("plan", "eq_any", ["pro"], 10),
            max_points=40,
            name="Fit",
        ),
        property_group(self_rule("seats", "gt", 10, 20), max_points=20, name="Adoption"),
    )
    # rule hundredths in definition order; the first group's total is clamped at -20
    why = pull_down(defn, [-2000, 0], [-1500, -500, 0, 0])
    assert why == "Fit: Detractor on the last NPS -15; Fit: tickets > 3 -5"
    assert pull_down(defn, [4000, 0], [0, 0, 4000, 0]) == "Adoption: only 0 of 20 points"
    assert pull_down(defn, [4000, 2000], [0, 0, 4000, 2000]) == "—"
    override = {"status": "Healthy", "reason": "exec sponsor re-engaged"}
    assert pull_down(defn, [-2000, 0], [-1500, -500, 0, 0], override).startswith(
        "overridden to Healthy: exec sponsor re-engaged; Fit: Detractor"
    )


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("table")
    generate_portfolio(folder, 80, seed=5, until=AS_OF.date())
    return folder


def test_both_engines_print_the_same_table(portfolio):
    live = parse_definition(json.loads(EXAMPLE.read_text()))
    as_of = AS_OF - timedelta(days=20)  # two of the sample's overrides are in effect
    polars = score_table(live, portfolio, as_of, Engine.POLARS)
    reference = score_table(live, portfolio, as_of, Engine.REFERENCE)
    assert polars == reference
    assert len(polars) == 80
    assert all(row.name for row in polars)  # every sample company has a name
    pulled = [row for row in polars if row.why.startswith("Support Tickets:")]
    assert pulled, "some sample company should lose points for open tickets"
    assert any(row.why.startswith("overridden to ") for row in polars)
    # a property scored by value names the value that cost the points
    assert any("CSM Sentiment: csm_sentiment is Negative -15" in row.why for row in polars)
    # the worst-listed rule explains a negative group total
    for row in pulled:
        assert row.groups["Support Tickets"] < 0
