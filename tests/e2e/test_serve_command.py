"""`healthscore serve` as a terminal runs it: quiet while it works (no metrics lines from the
sweep every few seconds), and a SIGTERM stops it as tidily as Ctrl-C — DynamoDB Local too."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from healthscore.adapters.dynamodb_local import free_port

ROOT = Path(__file__).parents[2]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _java_children(pid: int) -> list[int]:
    """DynamoDB Local's Java processes started by `pid` (its children and theirs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat[3]) == pid and "java" in command and "DynamoDBLocal" in command:
            found.append(int(entry.name))
    return found


def test_serve_is_quiet_and_stops_on_sigterm_with_dynamodb_local(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "healthscore", "serve", "--port", str(port), "--backend",
         "dynamodb-local", "--token-file", str(tmp_path / "token")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while not _listening(port) and time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        time.sleep(0.3)
    assert _listening(port)
    java = _java_children(server.pid)
    assert java, "DynamoDB Local should run as a child of serve"
    time.sleep(7)  # the local sweep runs every few seconds
    server.send_signal(signal.SIGTERM)
    output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert "stopping" in output
    assert '"_aws"' not in output  # no metrics lines
    assert "Traceback" not in output
    time.sleep(1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in java), "DynamoDB Local kept running"
