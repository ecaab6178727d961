"""`make bench`'s DuckDB peer computes the engine's scores (else its timing means nothing):
checked here on a small bulk portfolio, and on a copy with repeated lines of every kind."""

from __future__ import annotations

import importlib
import sys
from datetime import date
from pathlib import Path

import pytest

from healthscore.dev.bulk_portfolio import generate_bulk_portfolio, write_with_repeats

SCRIPTS = Path(__file__).parents[2] / "scripts"


@pytest.fixture(scope="module")
def bench():  # the scripts are not a package: imported from their folder
    sys.path.insert(0, str(SCRIPTS))
    try:
        yield importlib.import_module("bench")
    finally:
        sys.path.remove(str(SCRIPTS))


def test_the_peer_scores_every_record_and_group_like_the_engine(bench, tmp_path):
    folder = tmp_path / "bulk"
    generate_bulk_portfolio(folder, 2000, seed=5, until=date(2026, 6, 15))
    repeats = tmp_path / "repeats"
    write_with_repeats(folder, repeats)
    for dataset in (folder, repeats):
        assert bench.check(dataset) == {"records": 2000, "mismatches": 0}


def test_a_changed_peer_is_caught(bench, tmp_path, monkeypatch):
    # The check is not vacuous: a peer that forgets the frequency rule's 5 points differs.
    folder = tmp_path / "bulk"
    generate_bulk_portfolio(folder, 2000, seed=5, until=date(2026, 6, 15))
    peer = importlib.import_module("bench_peer")
    monkeypatch.setattr(
        peer,
        "SCORES_SQL",
        peer.SCORES_SQL.replace(
            "THEN 500 ELSE 0 END\n        AS calls_raw", "THEN 0 ELSE 0 END\n        AS calls_raw"
        ),
    )
    assert peer.SCORES_SQL.count("THEN 0 ELSE 0 END") == 1
    assert bench.check(folder)["mismatches"] > 50
