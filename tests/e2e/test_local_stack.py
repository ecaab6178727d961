"""`healthscore serve`'s stack over real HTTP on loopback: tables from template.yaml, dev
tokens, the real API handler, and the job runner behind turn-on."""

from __future__ import annotations

import json
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from healthscore.adapters.dynamodb_local import free_port
from healthscore.cli import app
from healthscore.dev.local_resources import template_resources
from healthscore.dev.local_stack import (
    LocalStack,
)

ROOT = Path(__file__).parents[2]


def call(
    url: str, method: str = "GET", body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            text = reply.read().decode()
            status = reply.status
    except urllib.error.HTTPError as error:
        text, status = error.read().decode(), error.code
    return status, json.loads(text) if text.startswith(("{", "[")) else text


@pytest.fixture(scope="module", params=["moto", "dynamodb-local"])
def stack(request: pytest.FixtureRequest) -> Iterator[tuple[LocalStack, str]]:
    import os

    saved = dict(os.environ)
    local = LocalStack.start(
        ROOT,
        backend=request.param,
        prefix=f"e2e-{request.param}",
        exports_folder=Path(tempfile.mkdtemp(prefix="e2e-exports-")),
    )
    port = free_port()
    local.serve(port)
    try:
        yield local, f"http://127.0.0.1:{port}"
    finally:
        local.stop()
        os.environ.clear()
        os.environ.update(saved)


def test_the_stack_has_exactly_the_templates_tables(stack: tuple[LocalStack, str]) -> None:
    local, _url = stack
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=local.settings.dynamodb_endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    names = {n for n in client.list_tables()["TableNames"] if n.startswith(f"e2e-{local.backend}-")}
    expected = {
        f"e2e-{local.backend}-{t}"
        for t in template_resources(ROOT / "template.yaml", "AWS::DynamoDB::Table")
    }
    assert names == expected
    scores = client.describe_table(TableName=f"e2e-{local.backend}-ScoresTable")["Table"]
    assert [
        (i["IndexName"], i["Projection"]["ProjectionType"])
        for i in scores["GlobalSecondaryIndexes"]
    ] == [("next_day", "KEYS_ONLY")]


def test_a_score_goes_live_over_http_and_its_job_runs(
    stack: tuple[LocalStack, str], tmp_path: Path
) -> None:
    local, url = stack
    token = local.token("e2e")
    assert call(f"{url}/definitions")[0] == 401
    assert call(f"{url}/definitions", token="not-a-token")[0] == 401
    assert call(f"{url}/openapi.json")[0] == 200
    status, _ = call(
        f"{url}/segments/all", "PUT", {"name": "All", "object_type": "companies"}, token
    )
    assert status == 200
    status, _ = call(f"{url}/records/companies/c1", "PUT", {"properties": {"nps_score": 10}}, token)
    assert status == 200
    status, created = call(
        f"{url}/definitions/from-templates", "POST", {"name": "Health", "segments": ["all"]}, token
    )
    assert status == 201, created
    status, on = call(
        f"{url}/definitions/{created['id']}/turn-on?version={created['version']}",
        "POST",
        None,
        token,
    )
    assert status == 202, on
    # the CLI waits for the job, as a deployment's user would (no sleep)
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    waited = CliRunner().invoke(
        app, ["jobs", "wait", on["job"]["id"], "--url", url, "--token-file", str(token_file)]
    )
    assert waited.exit_code == 0, waited.output
    assert f"job {on['job']['id']} succeeded" in " ".join(waited.output.split())
    job = call(f"{url}/jobs/{on['job']['id']}", token=token)[1]
    assert job["status"] == "succeeded", job
    unknown = CliRunner().invoke(
        app, ["jobs", "wait", "job_nope", "--url", url, "--token-file", str(token_file)]
    )
    assert unknown.exit_code == 2
    assert "job job_nope: 404" in " ".join(unknown.output.split())
    status, card = call(
        f"{url}/definitions/{created['id']}/records/companies/c1/health", token=token
    )
    assert status == 200
    assert card["groups"]["NPS"] == 20
    viewer = local.token("e2e", manage=False)
    assert (
        call(f"{url}/definitions/{created['id']}/turn-off?version=2", "POST", None, viewer)[0]
        == 403
    )
    assert call(f"{url}/definitions", token=local.token("someone-else"))[1] == []


def test_the_stacks_sqs_keeps_delays_and_visibility_timeouts(
    stack: tuple[LocalStack, str],
) -> None:
    # Given the stack's SQS (moto, its clock read the cheap way: time.time())
    local, _url = stack
    sqs = local.client("sqs")
    queue = sqs.create_queue(QueueName=f"clock-{local.backend}")["QueueUrl"]

    def receive(visibility: int = 30) -> list[str]:
        reply = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=visibility)
        return [m["Body"] for m in reply.get("Messages", [])]

    # When a message is sent with a one-second delay
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=1)
    # Then it is not received at once, but is after the delay
    assert receive() == []
    time.sleep(1.2)
    assert receive(visibility=1) == ["later"]
    # and once received it is hidden for its visibility timeout, then received again
    assert receive() == []
    time.sleep(1.2)
    assert receive() == ["later"]
