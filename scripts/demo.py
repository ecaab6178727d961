"""`make demo`: the whole story on this machine, through the real paths.

Starts the local stack (DynamoDB Local — or moto without Java — the real API, webhook, scorer,
sweep and recompute handlers), seeds a sample portfolio (records and links through the API, a
year of events through HubSpot-signed webhooks), creates a health score from the pre-defined
groups, previews it, turns it on, lets the sweep catch up with the last 30 days, and prints what
a customer-success manager wants to know: the status mix, the accounts most at risk and why,
and where to look next. Last, it connects a fake HubSpot portal holding the same companies and
shows the scores written back onto them (property group, two properties, batch updates).

    python scripts/demo.py [--companies 300] [--port 3000] [--keep-running]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from healthscore.adapters.dataset_files import read_dataset
from healthscore.adapters.dynamodb_local import free_port
from healthscore.adapters.hubspot_signature import signed_headers
from healthscore.dev.local_stack import LocalStack
from healthscore.dev.sample_portfolio import generate_portfolio

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".demo"
ACCOUNT = "demo"
CATCH_UP = timedelta(days=30)  # the score goes live this long ago; the sweep catches up
# The handlers print their logs and EMF metrics to stdout, as on Lambda: the demo sends those to
# .demo/stack.log and keeps the terminal for the story.
console = Console(
    highlight=False, file=sys.__stdout__, width=None if sys.__stdout__.isatty() else 120
)


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("content-type", "application/json")
        request.add_header("authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as reply:
                text = reply.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            raise SystemExit(f"{method} {path}: {error.code} {error.read().decode()}") from error


def progress() -> Progress:
    return Progress(
        TextColumn("  {task.description:<34}"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def step(number: int, title: str) -> None:
    console.print(f"\n[bold]{number}. {title}[/]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=int(os.environ.get("DEMO_COMPANIES", 100)))
    parser.add_argument("--port", type=int, default=0, help="default: 3000, or a free port")
    parser.add_argument("--keep-running", action="store_true", help="serve until Ctrl-C")
    parser.add_argument("--out", type=Path, default=OUT, help="where its files go (.demo)")
    args = parser.parse_args()
    out = args.out.resolve()
    started = time.monotonic()

    step(1, "Start the local stack (the same handlers as on AWS)")
    out.mkdir(parents=True, exist_ok=True)
    sys.stdout = (out / "stack.log").open("w", encoding="utf-8")
    hubspot_port = free_port()  # the fake HubSpot portal of step 8
    stack = LocalStack.start(
        ROOT,
        prefix=f"demo{int(time.time())}",
        hubspot_base_url=f"http://127.0.0.1:{hubspot_port}",
        exports_folder=out / "exports",  # the nightly run's exports for analysts
    )
    port = args.port or (3000 if _free(3000) else free_port())
    stack.serve(port)
    stack.clock.advance(-CATCH_UP)  # scoring time starts a month back; the sweep catches up
    url = f"http://127.0.0.1:{port}"
    api = Api(url, stack.token(ACCOUNT))
    (out / "token").write_text(stack.token(ACCOUNT) + "\n")
    console.print(
        f"  API on {url} (DynamoDB: {stack.backend}); scoring clock {stack.clock.now():%F}"
    )
    try:
        run(args, stack, api, url, hubspot_port)
    finally:
        if args.keep_running:
            console.print(f"\nServing on {url} until Ctrl-C (token in {out / 'token'}).")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        stack.stop()
    console.print(
        f"\n[dim]demo finished in {time.monotonic() - started:.0f} s "
        f"(the handlers' logs and metrics: {_shown(out / 'stack.log')})[/]"
    )


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def run(args: argparse.Namespace, stack: LocalStack, api: Api, url: str, hubspot: int) -> None:
    today = datetime.now(UTC).date()
    step(2, f"Generate a sample portfolio: {args.companies} companies, a year of events")
    folder = args.out.resolve() / "portfolio"
    with progress() as bar:
        task = bar.add_task("companies", total=args.companies)
        if folder.exists():
            for file in folder.iterdir():
                file.unlink()
        generate_portfolio(
            folder, args.companies, seed=7, until=today, progress=lambda n: bar.advance(task, n)
        )
    data = read_dataset(folder)
    records, events = data.all_records(), data.all_events()
    links = [(a, b, labels) for a, b, labels in data.association_pairs() if a < b]
    console.print(
        f"  {len(records):,} records (companies, contacts, tickets, deals), {len(links):,} links, "
        f"{len(events):,} events — written to {_shown(folder)}"
    )

    step(3, "Send them in through the real paths")
    for line in (folder / "segments.jsonl").read_text().splitlines():
        segment = json.loads(line)
        api.call("PUT", f"/segments/{segment['id']}", segment)
    with progress() as bar, ThreadPoolExecutor(max_workers=4) as pool:
        task = bar.add_task("records  → PUT /records", total=len(records))
        for _ in pool.map(
            lambda r: api.call(
                "PUT",
                f"/records/{r.object_type}/{r.id}",
                {"properties": dict(r.properties), "lists": sorted(r.lists)},
            ),
            records,
        ):
            bar.advance(task)
        task = bar.add_task("links    → POST /associations", total=len(links))
        for _ in pool.map(
            lambda link: api.call(
                "POST",
                "/associations",
                {
                    "from_type": link[0][0],
                    "from_id": link[0][1],
                    "to_type": link[1][0],
                    "to_id": link[1][1],
                    "labels": sorted(link[2]),
                },
            ),
            links,
        ):
            bar.advance(task)
        secret = stack.webhook_secret(ACCOUNT)
        batches = [events[i : i + 100] for i in range(0, len(events), 100)]
        random.Random(1).shuffle(batches)
        sent = bar.add_task("events   → signed webhooks", total=len(events))
        scored = bar.add_task("scorer   ← changes queue", total=len(events))
        for batch in batches:
            # as a sender would under back-pressure: keep the queue short (moto's SQS slows down
            # as it fills; AWS's does not)
            _wait_for_queue(stack, bar, scored, bar.tasks[sent].completed, below=300)
            bar.advance(sent, post_events(url, secret, batch))
        _wait_for_queue(stack, bar, scored, len(events), below=1)

    step(4, "Create a health score from the five pre-defined groups, and preview it")
    created = api.call(
        "POST",
        "/definitions/from-templates",
        {"name": "Customer health score", "segments": ["seg-all-companies"]},
    )
    did = created["id"]
    preview = api.call("GET", f"/definitions/{did}/preview?revision=draft")
    _print_statuses("Draft preview (not live yet)", preview["statuses"], preview["scored"])

    step(5, "Turn it on: the recompute scores every company (Polars, in shards)")
    on = api.call("POST", f"/definitions/{did}/turn-on?version={created['version']}")
    with progress() as bar:
        task = bar.add_task("recompute job", total=None)
        job = _wait_for_job(api, on["job"]["id"])
        bar.update(task, total=1, completed=1)
    detail = job["detail"]
    console.print(
        f"  {detail['scored']:,} companies scored in {detail['shards']} shard(s), as of "
        f"{stack.clock.now():%F}; {detail['changed']:,} got a first score"
    )

    step(6, f"Let the sweep run to today ({CATCH_UP.days} days of decay and timeframes)")
    moved = stack.advance_clock(CATCH_UP)
    sweep = moved["sweep"]
    console.print(
        f"  now {datetime.fromisoformat(moved['now']):%F}: {sweep['due']:,} companies were due, "
        f"{sweep['changed']:,} changed score, {sweep['status_changes']:,} changed status "
        "(each published as 'Health status changed')"
    )

    step(7, "What a customer-success manager sees")
    listed = api.call("GET", f"/definitions/{did}/scores?limit=8")
    _print_statuses("Status of every company now", _as_statuses(listed, created), listed["total"])
    _print_at_risk(api, did, listed["lowest"])

    step(8, "Scores where CSMs work: connect a HubSpot portal (a fake one) and write back")
    _write_back(stack, api, data, hubspot)
    console.print(
        "\n[bold]Next[/]\n"
        f"  • The API and its docs: `make serve`, then http://127.0.0.1:3000/docs\n"
        "  • Notebooks on this portfolio (marimo):\n"
        f"      .venv/bin/marimo run notebooks/threshold_tuning.py -- --dataset {folder}\n"
        f"      .venv/bin/marimo run notebooks/portfolio_health.py -- --dataset {folder}\n"
        f"      .venv/bin/marimo run notebooks/record_explorer.py -- --dataset {folder}"
        f" --record {listed['lowest'][0]['id'] if listed['lowest'] else ''}\n"
        f"      .venv/bin/marimo run notebooks/distribution_preview.py -- --dataset {folder}\n"
        "  • Explain one company from the command line:\n"
        f"      .venv/bin/healthscore explain {folder} --definition "
        f"docs/examples/customer-health-score.json --record "
        f"{listed['lowest'][0]['id'] if listed['lowest'] else 'c0000001'}"
    )


def _write_back(stack: LocalStack, api: Api, data: Any, port: int) -> None:
    """The portal holds the sample's companies; connecting pushes every live score to it."""
    from healthscore.dev.fake_hubspot import Portal, serve

    portal = Portal.from_dataset(data)
    token = "pat-demo-local"
    server = serve(portal, port, token)
    try:
        reference = stack.hubspot_token(ACCOUNT, token)  # AWS: aws ssm put-parameter …
        api.call(
            "PUT", "/integrations/hubspot", {"portal_id": "4470012", "token_parameter": reference}
        )
        stack.drain(timeout=120)
        made = portal.properties.get("companies", {})
        score_name = next(n for n, p in made.items() if p["type"] == "number")
        status_name = next(n for n, p in made.items() if p["type"] == "enumeration")
        calls = [p for m, p, _s in portal.requests if p.endswith("/batch/update")]
        console.print(
            f"  connected portal 4470012; HubSpot now has the property group, "
            f"{score_name!r} (number) and {status_name!r} (options: "
            + ", ".join(o["label"] for o in portal.properties["companies"][status_name]["options"])
            + f"), and {len(portal.objects['companies']):,} companies' values "
            f"in {len(calls)} batch update call(s)"
        )
        table = Table("company (in HubSpot)", score_name, status_name)
        for company in list(portal.objects["companies"].values())[:5]:
            held = company.properties
            table.add_row(
                held.get("name", company.id), held.get(score_name, ""), held.get(status_name, "")
            )
        console.print(table)
    finally:
        server.shutdown()


def _free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def post_events(url: str, secret: str, batch: list[Any], account: str = ACCOUNT) -> int:
    """One HubSpot-signed webhook delivery of `batch`; how many events it accepted."""
    items = [
        {
            "id": e.id,
            "type": e.type,
            "occurred_at": e.occurred_at.isoformat(),
            "object_type": e.object_type,
            "object_id": e.object_id,
            "properties": dict(e.properties),
        }
        for e in batch
    ]
    uri = f"{url}/webhooks/events?account={account}"
    body = json.dumps(items).encode()
    request = urllib.request.Request(uri, data=body, method="POST")
    for name, value in signed_headers(secret, "POST", uri, body, datetime.now(UTC)).items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=60) as reply:
        return int(json.loads(reply.read())["accepted"])


def _wait_for_queue(stack: LocalStack, bar: Progress, task: Any, sent: float, below: int) -> None:
    """Until fewer than `below` changes wait in the queue; the bar shows how many are scored."""
    sqs = stack.client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while True:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.settings.changes_queue_url, AttributeNames=names
        )["Attributes"]
        waiting = sum(int(attributes.get(n, 0)) for n in names)
        bar.update(task, completed=sent - waiting)
        if waiting < below:
            return
        time.sleep(0.2)


def _wait_for_job(api: Api, job_id: str) -> dict[str, Any]:
    while True:
        job = api.call("GET", f"/jobs/{job_id}")
        if job["status"] == "succeeded":
            return dict(job)
        if job["status"] == "failed":
            raise SystemExit(f"the recompute failed: {job['detail']}")
        time.sleep(0.3)


def _as_statuses(listed: dict[str, Any], created: dict[str, Any]) -> list[dict[str, Any]]:
    thresholds = {t["label"]: t for t in created["draft"]["thresholds"]}
    return [
        {
            "status": label,
            "color": thresholds[label]["color"],
            "min": thresholds[label]["min"],
            "count": count,
            "share": count / listed["total"] if listed["total"] else 0,
        }
        for label, count in listed["counts"].items()
    ]


def _print_statuses(title: str, statuses: list[dict[str, Any]], total: int) -> None:
    table = Table(title=title, title_justify="left", show_edge=False)
    for column in ("status", "from score", "companies", "share", ""):
        table.add_column(column, justify="right" if column not in ("status", "") else "left")
    for row in statuses:
        share = row["count"] / total if total else 0
        table.add_row(
            f"[{row['color']}]{row['status']}[/]",
            str(row["min"]),
            f"{row['count']:,}",
            f"{share:.0%}",
            f"[{row['color']}]" + "█" * round(share * 40) + "[/]",
        )
    console.print(table)
    console.print(f"  {total:,} companies scored")


def _print_at_risk(api: Api, did: str, cards: list[dict[str, Any]]) -> None:
    table = Table(title="Most at risk, and why", title_justify="left", show_edge=False)
    for column in ("company", "score", "status", "what pulls it down", "last change"):
        table.add_column(column)
    for card in cards:
        record = api.call("GET", f"/records/companies/{card['id']}")
        name = record["properties"].get("name", card["id"])
        lows = sorted((p, g) for g, p in card["groups"].items() if p < 0)
        reasons = ", ".join(f"{group} {points:+g}" for points, group in lows[:2]) or "—"
        change = card["last_change"] or {}
        why = (change.get("why") or {}).get("summary", "")
        if change.get("status_before") is None:
            last = f"first scored ({why})"
        else:
            last = f"{change['direction']} {change['amount']}: {why}"
        table.add_row(
            f"{name} ({card['id']})",
            str(card["score"]),
            f"[{card['color']}]{card['status']}[/]",
            reasons,
            last[:70],
        )
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
