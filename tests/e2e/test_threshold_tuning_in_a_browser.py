"""A person's view of threshold tuning: `marimo run` serves the notebook, headless Chromium
(Debian's, driven by Playwright) moves a threshold slider, and the status counts change.
A screenshot of before and after is saved in the test's output folder."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from healthscore.dev.sample_portfolio import generate_portfolio
from tests.e2e.notebook_server import CHROMIUM, require_chromium, serve_notebook


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    sample = tmp_path_factory.mktemp("browser-sample")
    generate_portfolio(sample, 80, seed=5, until=date(2026, 6, 15))
    with serve_notebook("threshold_tuning", "--dataset", str(sample)) as url:
        yield url


def _counts(page) -> list[int]:
    """The records each status card shows (the cards live in marimo's shadow DOM: locators
    pierce it, `innerText` of the page does not)."""
    captions = page.get_by_text(re.compile(r"^(churn rate|no outcomes)"))
    texts = [captions.nth(i).evaluate("e => e.parentElement.innerText") for i in range(3)]
    return [int(text.split()[0].replace(",", "")) for text in texts]


def _bounds(page) -> str:
    return str(page.get_by_text("Bounds:").first.evaluate("e => e.parentElement.innerText"))


def test_moving_a_threshold_slider_changes_the_status_counts(served: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.goto(served)
        page.get_by_role("heading", name="Status counts").wait_for(timeout=60_000)
        page.get_by_text("Bounds:").first.wait_for(timeout=60_000)
        bounds = _bounds(page)
        before = _counts(page)
        page.screenshot(path=str(tmp_path / "threshold-tuning-before.png"), full_page=True)
        # When the "Neutral from" slider moves up ten steps with the keyboard
        slider = page.get_by_role("slider").first
        slider.focus()
        for _ in range(10):
            slider.press("ArrowRight")
        deadline = time.monotonic() + 30
        while _bounds(page) == bounds and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        page.wait_for_timeout(500)
        after = _counts(page)
        new_bounds = _bounds(page)
        page.screenshot(path=str(tmp_path / "threshold-tuning-after.png"), full_page=True)
        browser.close()
    # Then Neutral starts ten points higher, companies moved from Neutral to At-risk, none
    # were lost, and the screenshots are saved in the test's output folder
    assert "Neutral from 40" in bounds
    assert "Neutral from 50" in new_bounds
    assert after != before
    assert after[0] >= before[0]
    assert sum(after) == sum(before)
    assert (tmp_path / "threshold-tuning-after.png").stat().st_size > 10_000
