"""`healthscore smoke` and `healthscore webhook send --secret-env` against a stack over HTTP, as
a deployer runs them after `sam deploy` (here: the local stack, its secret exported into the
environment as one would export a deployment's)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from typer.testing import CliRunner

from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.cli import app
from healthscore.dev.local_stack import LocalStack


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
    assert "202 {'accepted': 1" in sent.output
    wrong = CliRunner().invoke(app, [*args, "--secret-env", "HS_SECRET"], env={"HS_SECRET": "x"})
    assert wrong.exit_code == 2
    assert "401" in wrong.output
    local.drain()  # the accepted event is applied before the stack stops
