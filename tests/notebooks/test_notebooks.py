"""The analysts' notebooks: each exports to HTML headless on a small sample, and its own
`test_*` cells pass under pytest (marimo's pytest integration)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from healthscore.dev.sample_portfolio import generate_portfolio

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
NOTEBOOKS = {
    "threshold_tuning": ["Threshold tuning", "Status counts", "ROC AUC", "Saving needs the API"],
    "distribution_preview": ["Distribution preview", "What each group contributes", "What-if"],
    "portfolio_health": ["Portfolio health", "Status mix", "Dropped most in the last 30 days"],
    "record_explorer": ["health score", "History", "Breakdown"],
    "backtest": ["Backtest", "Lead time", "Which rules carry signal", "A suggestion fitted"],
}
FAILURES = ("Traceback (most recent call last)", "MarimoExceptionRaisedError", "An error occurred")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    generate_portfolio(folder, 60, seed=3, until=date(2026, 6, 15))
    return folder


def arguments(sample: Path) -> list[str]:
    compare = ROOT / "docs/examples/upmarket-health-score.json"
    return ["--dataset", str(sample), "--compare", str(compare), "--weeks", "6", "--days", "45"]


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_the_notebook_exports_to_html_headless(name: str, sample: Path, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.html"
    run = subprocess.run(
        [
            str(BIN / "marimo"),
            "export",
            "html",
            f"notebooks/{name}.py",
            "-o",
            str(out),
            "--",
            *arguments(sample),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    html = out.read_text()
    for expected in NOTEBOOKS[name]:
        assert expected in html, f"{name}: {expected!r} missing from the export"
    for failure in FAILURES:
        assert failure not in html, f"{name}: a cell failed ({failure})"


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_the_notebooks_own_test_cells_pass(name: str, sample: Path) -> None:
    # Under pytest a notebook has no command line: the same inputs come from the environment.
    # (and not this pytest's own PYTEST_* variables, which marimo reads as "inside a test")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["HEALTHSCORE_NOTEBOOK_ARGS"] = shlex.join(arguments(sample))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"notebooks/{name}.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout
    assert "failed" not in run.stdout


def test_the_explorer_shows_an_override_and_tuning_counts_it(sample: Path, tmp_path: Path) -> None:
    """A company overridden on the as-of day: the record explorer shows the override beside its
    computed score, and threshold tuning says how many it judges by their computed scores."""
    import json
    import shutil

    folder = tmp_path / "overridden"
    shutil.copytree(sample, folder)
    first = json.loads((folder / "records.jsonl").read_text().splitlines()[0])
    line = {
        "object_type": "companies",
        "id": first["id"],
        "definition": "Customer health score",
        "status": "At-risk",
        "score": None,
        "reason": "Champion left last week",
        "set_by": "Casey Lindqvist",
        "set_at": "2026-06-10T09:00:00Z",
        "expires_at": "2026-07-10T09:00:00Z",
    }
    (folder / "overrides.jsonl").write_text(json.dumps(line) + "\n")
    pages = {}
    for name, extra in (("record_explorer", ["--record", first["id"]]), ("threshold_tuning", [])):
        out = tmp_path / f"{name}.html"
        command = [str(BIN / "marimo"), "export", "html", f"notebooks/{name}.py", "-o", str(out)]
        run = subprocess.run(
            [*command, "--", "--dataset", str(folder), *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        pages[name] = out.read_text()
    assert "Overridden" in pages["record_explorer"]
    assert "Champion left last week" in pages["record_explorer"]
    assert "1 overridden by a CSM" in pages["threshold_tuning"]
