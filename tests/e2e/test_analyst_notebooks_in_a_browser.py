"""What an analyst sees in headless Chromium: the backtest notebook's figures, lead-time chart
and fitted suggestion; and the record explorer's answer to an id or name it does not know (the
message on the page, not a blank one). Screenshots are saved in the test's output folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from healthscore.dev.sample_portfolio import generate_portfolio
from tests.e2e.notebook_server import CHROMIUM, require_chromium, serve_notebook


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_chromium()
    folder = tmp_path_factory.mktemp("analyst-sample")
    generate_portfolio(folder, 80, seed=5, until=date(2026, 6, 15))
    return folder


def _browser(playwright):
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
    )


def test_the_backtest_notebook_shows_its_figures_and_the_suggestion(sample, tmp_path):
    from playwright.sync_api import sync_playwright

    with (
        serve_notebook("backtest", "--dataset", str(sample), "--weeks", "12") as url,
        sync_playwright() as playwright,
    ):
        browser = _browser(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 2200})
        page.goto(url)
        page.get_by_role("heading", name="Which rules carry signal").wait_for(timeout=90_000)
        page.get_by_text("A suggestion fitted to history").first.wait_for(timeout=90_000)
        page.wait_for_timeout(1000)  # the charts draw
        page.screenshot(path=str(tmp_path / "backtest.png"), full_page=True)
        lead = page.get_by_role("heading", name="Lead time").count()
        auc = page.get_by_text("ROC AUC").count()
        browser.close()
    assert lead == 1
    assert auc >= 1
    assert (tmp_path / "backtest.png").stat().st_size > 20_000


def test_the_record_explorer_says_when_it_does_not_know_a_record(sample, tmp_path):
    from playwright.sync_api import sync_playwright

    with (
        serve_notebook("record_explorer", "--dataset", str(sample)) as url,
        sync_playwright() as playwright,
    ):
        browser = _browser(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(url)
        page.get_by_role("heading", name="History").wait_for(timeout=60_000)
        box = page.get_by_role("textbox").first
        label = page.get_by_text("Company (id or name)").count()
        # When an analyst types an id that is not in the dataset
        box.fill("c9999999")
        box.press("Enter")
        message = page.get_by_text("No company has the id or name “c9999999”")
        message.wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "record-explorer-unknown.png"), full_page=True)
        shown = message.count()
        browser.close()
    # Then the page says so (and the search box is labelled for a person, not a column)
    assert label == 1
    assert shown == 1
    assert (tmp_path / "record-explorer-unknown.png").stat().st_size > 10_000
