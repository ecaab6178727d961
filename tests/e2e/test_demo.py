"""`make demo` as a new user runs it (smaller): every step runs, and what it shows a CSM makes
sense — the most-at-risk list names only what subtracts points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from healthscore.adapters.dynamodb_local import free_port

ROOT = Path(__file__).parents[2]


@pytest.mark.soak
def test_the_demo_tells_the_whole_story(tmp_path):
    out = tmp_path / "demo"
    run = subprocess.run(
        [
            sys.executable,
            "scripts/demo.py",
            "--companies",
            "30",
            "--port",
            str(free_port()),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    text = run.stdout
    for number in range(1, 9):
        assert f"\n{number}. " in text, f"step {number} missing:\n{text[-2000:]}"
    assert "Most at risk, and why" in text
    assert "demo finished in" in text
    assert (out / "portfolio" / "records.jsonl").exists()
    assert (out / "stack.log").stat().st_size > 0  # the handlers' logs went there, not here
    at_risk = text[text.index("Most at risk, and why") :].split("\n8. ")[0]
    rows = [line.split("│") for line in at_risk.splitlines() if line.count("│") == 4]
    pulls = [row[3].strip() for row in rows if row[1].strip()]
    assert pulls, at_risk
    assert not any("+0" in cell for cell in pulls), at_risk
