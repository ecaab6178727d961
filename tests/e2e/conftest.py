"""The local stack over HTTP, one per test module that asks for it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from healthscore.adapters.dynamodb_local import free_port
from healthscore.dev.local_stack import LocalStack

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalStack, str]]:
    saved = dict(os.environ)
    local = LocalStack.start(
        ROOT,
        backend="dynamodb-local",
        prefix=f"e2e-{request.module.__name__.rsplit('.', 1)[-1][5:20]}",
        exports_folder=tmp_path_factory.mktemp("exports"),
    )
    port = free_port()
    local.serve(port)
    try:
        yield local, f"http://127.0.0.1:{port}"
    finally:
        local.stop()
        os.environ.clear()
        os.environ.update(saved)
