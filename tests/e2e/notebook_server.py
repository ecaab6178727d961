"""A notebook served by `marimo run`, for headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from healthscore.adapters.dynamodb_local import free_port

ROOT = Path(__file__).parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            "headless Chromium is missing: `make test` installs it as root "
            "(apt-get install chromium chromium-driver); otherwise install those Debian packages",
            pytrace=False,
        )


@contextmanager
def serve_notebook(name: str, *args: str) -> Iterator[str]:
    """`marimo run notebooks/<name>.py -- ARGS` on a free loopback port; its URL."""
    require_chromium()
    port = free_port()
    marimo = shutil.which("marimo", path=str(Path(sys.executable).parent)) or "marimo"
    server = subprocess.Popen(
        [marimo, "run", f"notebooks/{name}.py", "--headless", "--host", "127.0.0.1", "--port",
         str(port), "--no-token", "--", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None:
                message = server.stderr.read().decode() if server.stderr else ""
                raise AssertionError(f"marimo run stopped: {message}") from None
            time.sleep(0.3)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)
