"""One DynamoDB Local for the whole test session, started on first use.

Missing Java or jar is a failure naming what to install, never a skip."""

from __future__ import annotations

import atexit
from pathlib import Path

import pytest

from healthscore.adapters.dynamodb_local import DynamoDBLocal, DynamoDBLocalMissing

ROOT = Path(__file__).parents[1]
_running: list[DynamoDBLocal] = []


def dynamodb_local_endpoint() -> str:
    if not _running:
        try:
            server = DynamoDBLocal.start(ROOT)
        except DynamoDBLocalMissing as error:
            pytest.fail(str(error), pytrace=False)
        _running.append(server)
        atexit.register(server.stop)
    return _running[0].endpoint
