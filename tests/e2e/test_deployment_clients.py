"""What a deployer and an integrating team run against a stack over HTTP (here: the local
stack, its secret exported into the environment as one would export a deployment's):

- a client generated from docs/openapi.json with openapi-python-client: create a segment and a
  record (an id with a space and an @, percent-encoded by the client), a score from the
  pre-defined groups, turn it on, wait for its job, read the health card, meet a 409 as a typed
  Problem;
- `healthscore smoke`, end to end, cleaning up after itself;
- `healthscore webhook send --secret-env`."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.cli import app
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


def secret_of(url: str, account: str) -> str:
    request = urllib.request.Request(
        f"{url}/local/webhook-secret?account={account}", data=b"{}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        secret: str = json.loads(reply.read())["secret"]
    return secret


def test_smoke_checks_the_stack_end_to_end_and_leaves_nothing(
    served: tuple[LocalStack, str], tmp_path: Path
) -> None:
    local, url = served
    token = tmp_path / "token"
    token.write_text(local.token("smoke") + "\n")
    env = {"SMOKE_SECRET": secret_of(url, "smoke")}
    result = CliRunner().invoke(
        app,
        [
            "smoke",
            "--url",
            url,
            "--token-file",
            str(token),
            "--secret-env",
            "SMOKE_SECRET",
            "--account",
            "smoke",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "works end to end" in result.output
    assert "score move to 60" in result.output
    assert "failed" not in result.output
    # it cleaned up: no segment, definition or record of the run is left
    store = DynamoStore(Tables.bind(local.settings))
    assert store.stored_segments("smoke") == []
    assert store.definitions("smoke") == []


def test_smoke_fails_with_a_reason_on_a_wrong_token_and_a_missing_secret(
    served: tuple[LocalStack, str], tmp_path: Path
) -> None:
    local, url = served
    token = tmp_path / "token"
    token.write_text(local.token("smoke-viewer", manage=False))
    refused = CliRunner().invoke(app, ["smoke", "--url", url, "--token-file", str(token)])
    assert refused.exit_code != 0
    assert "403" in refused.output
    missing = CliRunner().invoke(
        app, ["smoke", "--url", url, "--token-file", str(token), "--secret-env", "NOT_SET_HERE"]
    )
    assert missing.exit_code == 2
    assert "NOT_SET_HERE is empty or unset" in missing.output


def test_webhook_send_signs_with_a_secret_from_the_environment(
    served: tuple[LocalStack, str], tmp_path: Path
) -> None:
    local, url = served
    batch = tmp_path / "batch.json"
    event = {
        "id": "e-1",
        "type": "meeting_booked",
        "occurred_at": "2026-06-01T10:00:00Z",
        "object_type": "contacts",
        "object_id": "p1",
    }
    batch.write_text(json.dumps([event]))
    secret = secret_of(url, "sender")
    args = ["webhook", "send", str(batch), "--url", url, "--account", "sender"]
    sent = CliRunner().invoke(app, [*args, "--secret-env", "HS_SECRET"], env={"HS_SECRET": secret})
    assert sent.exit_code == 0, sent.output
    assert '{"status": 202, "accepted": 1' in sent.output
    wrong = CliRunner().invoke(app, [*args, "--secret-env", "HS_SECRET"], env={"HS_SECRET": "x"})
    assert wrong.exit_code == 2
    assert "401" in wrong.output
    local.drain()  # the accepted event is applied before the stack stops
