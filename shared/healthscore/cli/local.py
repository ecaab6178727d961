"""The local stack: serve, and its clock and signed webhooks (talk to a running `healthscore
serve`)."""

from __future__ import annotations

import signal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from healthscore.cli.common import (
    _fail,
    app,
    out,
)


class Backend(StrEnum):
    AUTO = "auto"
    DYNAMODB_LOCAL = "dynamodb-local"
    MOTO = "moto"


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port of the HTTP API on 127.0.0.1")] = 3000,
    backend: Annotated[
        Backend,
        typer.Option(help="dynamodb-local (needs Java), moto, or auto: DynamoDB Local if it can"),
    ] = Backend.AUTO,
    account: Annotated[str, typer.Option(help="Account the printed dev token is for")] = "demo",
    token_file: Annotated[Path, typer.Option(help="Where to write the admin dev token")] = Path(
        ".healthscore/token"
    ),
    hubspot_url: Annotated[
        str | None,
        typer.Option(help="The HubSpot the sync and write-back talk to (e.g. the fake's URL)"),
    ] = None,
    exports: Annotated[
        Path,
        typer.Option(help="Where exports for analysts go (in place of the S3 bucket)"),
    ] = Path(".healthscore/exports"),
) -> None:
    """Run the API locally: tables and queues from template.yaml, the real handlers, dev tokens."""
    from healthscore.adapters.dynamodb_local import DynamoDBLocalMissing
    from healthscore.dev.local_stack import LocalStack

    root = Path.cwd()
    if not (root / "template.yaml").exists():
        _fail("run `healthscore serve` from the repository root (where template.yaml is)")
    try:
        stack = LocalStack.start(
            root,
            backend=backend.value,
            hubspot_base_url=hubspot_url,
            exports_folder=exports.resolve(),
        )
    except DynamoDBLocalMissing as error:
        _fail(str(error))
    try:
        stack.serve(port)
    except OSError as error:
        stack.stop()
        _fail(f"cannot listen on 127.0.0.1:{port}: {error}; choose another --port")
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(stack.token(account) + "\n")
    viewer_file = token_file.with_name("viewer-token")
    viewer_file.write_text(stack.token(account, "viewer@localhost", manage=False) + "\n")
    url = f"http://127.0.0.1:{port}"
    out.print(f"[bold]healthscore API[/] on {url}  (DynamoDB: {stack.backend})")
    out.print(f"  Swagger UI   {url}/docs     OpenAPI  {url}/openapi.json")
    out.print(f"  admin token for account {account!r} written to {token_file}")
    out.print(f"  read-only token (no manage permission) written to {viewer_file}")
    out.print(f'  try: curl -H "Authorization: Bearer $(cat {token_file})" {url}/definitions')
    out.print(
        f"  exports (POST /exports, and the nightly one `clock advance` past 03:00 UTC leaves) "
        f"go to {exports}"
    )
    if hubspot_url:
        out.print(
            f"  HubSpot at {hubspot_url}: POST {url}/local/hubspot-token keeps a token, "
            f"PUT {url}/integrations/hubspot connects, POST {url}/local/hubspot-sync syncs"
        )
    out.print("Ctrl-C (or SIGTERM) stops it; data lives in memory and goes with it.")

    def stop_on_term(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt  # the same tidy stop as Ctrl-C: DynamoDB Local too

    signal.signal(signal.SIGTERM, stop_on_term)
    try:
        import time

        seen: dict[str, int] = {}
        while True:  # say when something lands in a dead-letter queue (failed 5 times)
            time.sleep(2)
            dead = stack.dead_letters()
            for name, depth in dead.items():
                if depth != seen.get(name, 0):
                    out.print(
                        f"[yellow]{name}: {depth} message(s)[/] — failed every retry; the "
                        f"scorer's log above says why (GET {url}/local/queues for all depths)"
                    )
            seen = dead
    except KeyboardInterrupt:
        out.print("stopping")
    finally:
        stack.stop()


clock_app = typer.Typer(help="The local stack's scoring clock (decay and timeframes on demand).")

webhook_app = typer.Typer(help="Signed webhooks into the local stack or a deployment.")

app.add_typer(clock_app, name="clock")

app.add_typer(webhook_app, name="webhook")

LocalUrl = Annotated[str, typer.Option("--url", help="The running `healthscore serve`")]

DEFAULT_URL = "http://127.0.0.1:3000"


def _local(url: str, path: str, method: str = "GET", body: Any = None) -> Any:
    import json as json_module
    import urllib.error
    import urllib.request

    data = None if body is None else json_module.dumps(body).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return json_module.loads(reply.read())
    except urllib.error.HTTPError as error:
        _fail(json_module.loads(error.read()).get("message", str(error)))
    except urllib.error.URLError as error:
        _fail(f"no healthscore serve at {url} ({error.reason}); start it with `make serve`")


@app.command()
def wait(url: LocalUrl = DEFAULT_URL) -> None:
    """Wait until the local stack has applied every change and job sent to it so far."""
    _local(url, "/local/drain", "POST", {})
    out.print("the local stack has applied everything sent so far")


@clock_app.command("show")
def clock_show(url: LocalUrl = DEFAULT_URL) -> None:
    """Print the local stack's current scoring time."""
    out.print(_local(url, "/local/clock")["now"])


@clock_app.command("advance")
def clock_advance(
    by: Annotated[str, typer.Argument(help="How far: 30m, 12h, 7d or 2w")],
    url: LocalUrl = DEFAULT_URL,
) -> None:
    """Move the local clock forward and run the sweep (decay, timeframes, date conditions);
    past 03:00 UTC, queue the nightly reconciliation of every live score too."""
    moved = _local(url, "/local/clock", "POST", {"advance": by})
    sweep = moved["sweep"]
    out.print(f"now {moved['now']}")
    out.print(
        f"sweep: {sweep['due']} due, {sweep['rescored']} rescored, {sweep['changed']} changed, "
        f"{sweep['status_changes']} status changes"
    )
    for job in moved.get("reconcile", []):
        out.print(
            f"reconciliation queued: {job['account_id']} / {job['definition_id']} "
            f"(job {job['job_id']}; `healthscore jobs wait` shows its report)"
        )


@webhook_app.command("secret")
def webhook_secret(
    account: Annotated[str, typer.Option(help="Account id")] = "demo",
    url: LocalUrl = DEFAULT_URL,
) -> None:
    """Print the account's webhook signing secret (created on first ask)."""
    out.print(_local(url, f"/local/webhook-secret?account={account}", "POST")["secret"])


@webhook_app.command("send")
def webhook_send(
    batch: Annotated[
        Path,
        typer.Argument(
            help="A JSON array: native events or HubSpot items",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    account: Annotated[
        str, typer.Option(help="Account id (?account=); '' for a public app's portals")
    ] = "demo",
    url: Annotated[
        str, typer.Option("--url", help="The local stack, or a deployed API's base URL")
    ] = DEFAULT_URL,
    secret_env: Annotated[
        str | None,
        typer.Option(
            "--secret-env",
            help="Environment variable holding the signing secret (a deployment's); "
            "default: ask the local stack for the account's",
        ),
    ] = None,
) -> None:
    """Sign a batch (HubSpot v3) and POST it to <url>/webhooks/events."""
    from healthscore.cli.remote import send_batch

    send_batch(
        batch,
        url,
        account or None,
        secret_env,
        lambda: _local(url, f"/local/webhook-secret?account={account}", "POST")["secret"],
    )
