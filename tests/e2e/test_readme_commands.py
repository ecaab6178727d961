"""The README's local-stack sessions, run as written (bash, curl, openssl, the CLI) against
`healthscore serve`: what a new user copies must work."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from healthscore.adapters.dynamodb_local import free_port
from healthscore.dev.local_stack import LocalStack

ROOT = Path(__file__).parents[2]
SECTIONS = (
    "## Run the API locally",
    "## Scores that keep themselves current: webhooks, the scorer, the sweep",
)


def readme_script() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = []
    for heading in SECTIONS:
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        blocks += re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == len(SECTIONS), "each section has one bash block"
    return "\n".join(blocks)


def test_the_readme_sessions_work_as_written(tmp_path: Path) -> None:
    saved = dict(os.environ)
    local = LocalStack.start(
        ROOT, backend="dynamodb-local", prefix="readme", exports_folder=tmp_path / "exports"
    )
    port = free_port()
    local.serve(port)
    try:
        # as `make serve` leaves things: tokens in .healthscore/, the virtualenv in .venv
        (tmp_path / ".healthscore").mkdir()
        (tmp_path / ".healthscore" / "token").write_text(local.token("demo") + "\n")
        (tmp_path / ".venv").symlink_to(ROOT / ".venv")
        script = readme_script().replace("http://127.0.0.1:3000", f"http://127.0.0.1:{port}")
        run = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env={**saved, "PATH": f"{ROOT / '.venv' / 'bin'}:{saved.get('PATH', '')}"},
        )
    finally:
        local.stop()
        os.environ.clear()
        os.environ.update(saved)
    out = run.stdout
    assert run.returncode == 0, run.stderr + out
    assert "Unauthorized" not in out
    assert out.count("the local stack has applied everything sent so far") == 2  # no sleeps
    assert '"errors"' not in out
    assert '{"accepted":1,"skipped":[]}' in out  # the webhook signed with openssl
    assert '{"status": 202, "accepted": 1, "skipped": []}' in out  # the CLI's, as JSON
    assert '"kind":"event"' in out  # the meeting is in Acme's history
    assert "meeting_booked on" in out
    assert '"properties":["nps_score"]' in out  # Globex's NPS answer in Globex's
    assert "sweep: 1 due, 1 rescored, 1 changed" in out  # the decay step a month later
    assert '"direction":"down"' in out  # Acme's health card after it
    assert '"computed_status":' in out  # the override shown beside the computed status
    assert '"action":"expired"' in out  # and ended by the sweep 11 days on, in the history
    assert "Champion resigned on the QBR call" in out


def test_the_readme_connect_hubspot_session_works_against_the_fake(tmp_path: Path) -> None:
    """ "Connect HubSpot" as written: a fake portal, the import, the overview, the write-back,
    and the written score read back from the portal with curl."""
    text = (ROOT / "README.md").read_text().split("## Connect HubSpot", 1)[1].split("\n## ", 1)[0]
    [script] = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    port = free_port()
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    run = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script.replace("8787", str(port))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"},
    )
    assert run.returncode == 0, run.stderr + run.stdout
    assert "imported:" in run.stdout
    assert "40 companies scored" in run.stdout
    assert "wrote 40 companies' scores in 1 batch update (" in run.stdout
    written = json.loads(run.stdout.strip().splitlines()[-1])
    assert written["properties"]["customer_health_status"] in ("Healthy", "Neutral", "At-risk")
    assert 0 <= int(written["properties"]["customer_health_score"]) <= 100
