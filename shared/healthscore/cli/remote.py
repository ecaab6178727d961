"""Talking to a deployed healthscore (or the local stack) over HTTP: a signed webhook batch with a
secret from the environment, and `smoke`, an end-to-end check of a fresh deployment that cleans
up after itself."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from healthscore.adapters.hubspot_signature import signed_headers
from healthscore.cli.common import _fail, app, out


class HttpFailure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status


def http(
    url: str, method: str = "GET", body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    """One JSON request; the status and the parsed answer (HttpFailure on 4xx/5xx)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            text = reply.read()
            return reply.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            message = json.loads(text).get("message", text.decode())
        except ValueError:
            message = text.decode(errors="replace")[:300]
        raise HttpFailure(error.code, message) from error
    except urllib.error.URLError as error:
        raise HttpFailure(0, f"cannot reach {url}: {error.reason}") from error


def send_signed(url: str, secret: str, body: bytes, account: str | None) -> tuple[int, Any]:
    """POST a batch to `<url>/webhooks/events`, signed as HubSpot signs (v3)."""
    uri = f"{url.rstrip('/')}/webhooks/events"
    if account:
        uri += "?" + urllib.parse.urlencode({"account": account})
    request = urllib.request.Request(uri, data=body, method="POST")
    request.add_header("content-type", "application/json")
    for name, value in signed_headers(secret, "POST", uri, body, datetime.now(UTC)).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        raise HttpFailure(error.code, error.read().decode(errors="replace")[:300]) from error
    except urllib.error.URLError as error:
        raise HttpFailure(0, f"cannot reach {uri}: {error.reason}") from error


def secret_from(variable: str) -> str:
    secret = os.environ.get(variable, "")
    if not secret:
        _fail(f"the environment variable {variable} is empty or unset: export the secret into it")
    return secret


def read_token(token_file: Path) -> str:
    try:
        token = token_file.read_text().strip()
    except OSError as error:
        _fail(f"cannot read the token file {token_file}: {error.strerror}")
    if not token:
        _fail(f"the token file {token_file} is empty")
    return token


UrlOpt = Annotated[str, typer.Option("--url", help="The API's base URL (the stack's ApiUrl)")]
TokenFileOpt = Annotated[
    Path, typer.Option("--token-file", help="A file holding a JWT of an account that may manage")
]
SecretEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--secret-env",
        help="Environment variable holding the webhook signing secret (the app's client secret)",
    ),
]


# ---------------------------------------------------------------------------------------------
# smoke


SMOKE_DEFINITION: dict[str, Any] = {
    "object_type": "companies",
    "groups": [
        {
            "name": "Smoke NPS",
            "kind": "property",
            "max_points": 40,
            "rules": [
                {
                    "object": "self",
                    "points": 40,
                    "conditions": [{"property": "nps_score", "operator": "gte", "value": 9}],
                }
            ],
        },
        {
            "name": "Smoke meetings",
            "kind": "event",
            "max_points": 20,
            "rules": [
                {
                    "event_type": "meeting_booked",
                    "points": 20,
                    "timeframe": {"value": 30, "unit": "days"},
                }
            ],
        },
    ],
    "thresholds": [
        {"label": "At risk", "min": 0, "color": "#d9534f"},
        {"label": "Healthy", "min": 50, "color": "#5cb85c"},
    ],
}


class Smoke:
    """The steps, each timed; cleanup runs whatever happened."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token
        self.run = uuid.uuid4().hex[:8]
        self.rows: list[tuple[str, str, str]] = []
        self.cleanup: list[tuple[str, Callable[[], Any]]] = []

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return http(f"{self.url}{path}", method, body, self.token)[1]

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        except HttpFailure as error:
            self.rows.append((name, "[red]failed[/]", str(error)))
            raise
        self.rows.append((name, "[green]ok[/]", f"{time.monotonic() - started:.1f} s"))

    def wait(self, what: str, read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
        deadline = time.monotonic() + 180
        while True:
            value = read()
            if done(value):
                return value
            if time.monotonic() > deadline:
                raise HttpFailure(0, f"gave up waiting for {what}: last seen {value}")
            time.sleep(0.25)

    def tidy(self) -> None:
        for name, undo in reversed(self.cleanup):
            try:
                undo()
                self.rows.append((f"clean up: {name}", "[green]ok[/]", ""))
            except HttpFailure as error:
                self.rows.append((f"clean up: {name}", "[red]failed[/]", str(error)))


def run_smoke(smoke: Smoke, secret: str | None, account: str | None) -> None:
    segment, company = f"smoke-{smoke.run}", f"smoke-{smoke.run}"
    with smoke.step("the API answers and serves its document"):
        document = http(f"{smoke.url}/openapi.json")[1]
        assert_that(bool(document.get("paths")), "/openapi.json has no paths")
    with smoke.step("create a segment of this run's company"):
        conditions = [{"property": "smoke_run", "operator": "eq_any", "values": [smoke.run]}]
        body = {"name": f"Smoke {smoke.run}", "object_type": "companies", "conditions": conditions}
        smoke.call("PUT", f"/segments/{segment}", body)
        smoke.cleanup.append(("segment", lambda: smoke.call("DELETE", f"/segments/{segment}")))
    with smoke.step("create a company (NPS 9)"):
        properties = {"name": "Smoke test", "smoke_run": smoke.run, "nps_score": 9}
        smoke.call("PUT", f"/records/companies/{company}", {"properties": properties})
        smoke.cleanup.append(
            ("company", lambda: smoke.call("DELETE", f"/records/companies/{company}"))
        )
    with smoke.step("create a health score"):
        definition = {**SMOKE_DEFINITION, "name": f"Smoke {smoke.run}", "segments": [segment]}
        created = smoke.call("POST", "/definitions", definition)
        did = created["id"]
        smoke.cleanup.append(("health score", lambda: delete_definition(smoke, did)))
    with smoke.step("turn it on and wait for its job"):
        on = smoke.call("POST", f"/definitions/{did}/turn-on?version={created['version']}")
        job = smoke.wait(
            "the turn-on job",
            lambda: smoke.call("GET", f"/jobs/{on['job']['id']}"),
            lambda j: j["status"] in ("succeeded", "failed"),
        )
        assert_that(job["status"] == "succeeded", f"the job {job['status']}: {job['detail']}")
    health = f"/definitions/{did}/records/companies/{company}/health"
    with smoke.step("read the health card (40: NPS only)"):
        card = smoke.wait("the first score", lambda: try_get(smoke, health), lambda c: c)
        assert_that(card["score"] == 40, f"the score is {card['score']}, not 40")
    if secret is None:
        smoke.rows.append(("a signed webhook event", "[yellow]skipped[/]", "no --secret-env"))
        return
    with smoke.step("send a signed webhook event and see the score move to 60"):
        event = {
            "id": f"smoke-{smoke.run}-meeting",
            "type": "meeting_booked",
            "occurred_at": datetime.now(UTC).isoformat(),
            "object_type": "companies",
            "object_id": company,
        }
        send_signed(smoke.url, secret, json.dumps([event]).encode(), account)
        card = smoke.wait(
            "the webhook's change", lambda: try_get(smoke, health), lambda c: c["score"] == 60
        )
        assert_that(card["status"] == "Healthy", f"the status is {card['status']}")


def assert_that(holds: bool, message: str) -> None:
    if not holds:
        raise HttpFailure(0, message)


def try_get(smoke: Smoke, path: str) -> Any:
    try:
        return smoke.call("GET", path)
    except HttpFailure as error:
        if error.status == 404:
            return None
        raise


def delete_definition(smoke: Smoke, did: str) -> None:
    current = smoke.call("GET", f"/definitions/{did}")
    if current["state"] == "live":
        current = smoke.call("POST", f"/definitions/{did}/turn-off?version={current['version']}")
    smoke.call("DELETE", f"/definitions/{did}?version={current['version']}")


@app.command()
def smoke(
    url: UrlOpt,
    token_file: TokenFileOpt,
    secret_env: SecretEnvOpt = None,
    account: Annotated[
        str | None,
        typer.Option(help="?account= on the webhook URL (leave out for a public app's portals)"),
    ] = None,
) -> None:
    """Check a deployed stack end to end: a segment, a company, a health score turned on, its
    job, the health card, a signed webhook event moving the score; then delete what it made.
    Use an account of its own: the plan's live-score limit counts the smoke test's score."""
    runner = Smoke(url, read_token(token_file))
    secret = secret_from(secret_env) if secret_env else None
    failed: HttpFailure | None = None
    try:
        run_smoke(runner, secret, account)
    except HttpFailure as error:
        failed = error
    finally:
        runner.tidy()
    table = Table("step", "", "")
    for row in runner.rows:
        table.add_row(*row)
    out.print(table)
    if failed is not None or any("failed" in status for _, status, _ in runner.rows):
        _fail(f"the smoke test failed: {failed or 'a clean-up step failed'}")
    out.print(f"[green]healthscore at {url} works end to end[/] (run {runner.run})")


# ---------------------------------------------------------------------------------------------
# webhook send (to a deployment; the local stack's own secret when no --secret-env)


def send_batch(
    batch: Path,
    url: str,
    account: str | None,
    secret_env: str | None,
    local_secret: Callable[[], str],
) -> None:
    secret = secret_from(secret_env) if secret_env else local_secret()
    try:
        status, answer = send_signed(url, secret, batch.read_bytes(), account)
    except HttpFailure as error:
        _fail(str(error))
    # JSON a script can read: the HTTP status beside the webhook's answer
    shown = answer if isinstance(answer, dict) else {"body": answer}
    sys.stdout.write(json.dumps({"status": status, **shown}) + "\n")
