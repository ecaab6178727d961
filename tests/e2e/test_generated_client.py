"""A client generated from docs/openapi.json with openapi-python-client — as a team integrating
with the API would make one — drives the local stack over HTTP: create a segment and a record
(an id with a space and an @, percent-encoded by the client), a score from the pre-defined
groups, turn it on, wait for its job, read the health card, and meet a 409 as a typed Problem."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from healthscore.dev.local_stack import LocalStack

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The client package, generated once into a temporary folder and importable."""
    folder = tmp_path_factory.mktemp("client")
    generator = BIN / "openapi-python-client"
    assert generator.exists(), "openapi-python-client is missing: run make test (it installs it)"
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(ROOT / "docs" / "openapi.json"),
            "--output-path",
            str(folder / "healthscore_client"),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # a schema the generator could not read is a warning, not an error: none may be left
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield "healthscore_client"
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.startswith("healthscore_client")]:
            del sys.modules[name]


def api(package: str, module: str) -> ModuleType:
    return importlib.import_module(f"{package}.{module}")


def test_a_generated_client_drives_the_api(generated: str, served: tuple[LocalStack, str]) -> None:
    local, url = served
    client_module = api(generated, "client")
    models = api(generated, "models")
    client = client_module.AuthenticatedClient(base_url=url, token=local.token("generated"))
    segments = api(generated, "api.segments.put_segment")
    put_record = api(generated, "api.records.put_record")
    get_record = api(generated, "api.records.get_record")
    from_templates = api(generated, "api.score_definitions.create_definition_from_templates")
    turn_on = api(generated, "api.lifecycle.turn_on")
    get_job = api(generated, "api.jobs.get_job")
    health_card = api(generated, "api.health_cards.health_card")

    segment = segments.sync(
        "all",
        client=client,
        body=models.SegmentBody(name="All companies", object_type="companies"),
    )
    assert isinstance(segment, models.Segment), segment
    properties = models.RecordBodyProperties.from_dict({"name": "Acme", "nps_score": 9})
    record = put_record.sync(
        "companies", "acme inc@eu", client=client, body=models.RecordBody(properties=properties)
    )
    assert isinstance(record, models.Record), record
    assert record.id == "acme inc@eu"  # stored decoded, as sent
    read = get_record.sync("companies", "acme inc@eu", client=client)
    assert read.properties.additional_properties == {"name": "Acme", "nps_score": 9}

    created = from_templates.sync(
        client=client, body=models.FromTemplates(name="Health", segments=["all"])
    )
    assert isinstance(created, models.Definition), created
    on = turn_on.sync(created.id, client=client, version=created.version)
    assert isinstance(on, models.Lifecycle), on
    stale = turn_on.sync(created.id, client=client, version=created.version)
    assert isinstance(stale, models.Problem)  # already on: a typed 409, not an exception
    assert "already on" in stale.message or "version" in stale.message

    job = wait_for(lambda: get_job.sync(on.job.id, client=client), local)
    assert job.status == "succeeded", job.to_dict()
    card = health_card.sync(created.id, "companies", "acme inc@eu", client=client)
    assert isinstance(card, models.HealthCard), card
    assert card.id == "acme inc@eu"
    assert 0 <= card.score <= 100


def wait_for(read: Any, local: LocalStack) -> Any:
    deadline = time.monotonic() + 60
    while True:
        local.drain()
        job = read()
        if job.status in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)
