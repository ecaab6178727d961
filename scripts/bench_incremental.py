"""`make bench` (part 2): the incremental path on DynamoDB Local — cost per event, the sweep's
reads, and concurrent throughput. DynamoDB Local computes consumed capacity from item sizes as
DynamoDB does; every request is counted by `healthscore.adapters.dynamo_meter`.

1. Cost per event: a contact with one company; the company has 10 or 10,000 prior events on
   the same ten days (enough to reach the rules' limits, so new ones move no score either way),
   or 10,000 of mixed types spread over a year (its tally holds a year's days: the size bound);
   after one event that warms the scorer, 3 rounds of 50 new events each. Requests, RCU and WCU
   per event, and by operation; the state item's size; Python CPU per event beside a peer (a
   bare GetItem + PutItem of the same state item, interleaved); $ per million events.
2. Sweep: 100,000 scored companies, 1 % due today. Items read, requests, capacity, time.
3. Throughput: 8 workers scoring 5,000 events aimed at 10 companies (every write contends).
4. The local stack end to end (signed webhook → stored score), against the scorer alone.

    python scripts/bench_incremental.py [--records 100000] [--parts cost,sweep,throughput,local]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.client

ROOT = Path(__file__).parents[1]
ROUNDS = 3
sys.path.insert(0, str(ROOT))  # the seeding helpers the tests use
sys.path.insert(0, str(ROOT / "scripts"))  # the demo's webhook sender

from demo import post_events  # noqa: E402

from healthscore.adapters.dynamo_meter import metered  # noqa: E402
from healthscore.adapters.dynamo_store import DynamoStore  # noqa: E402
from healthscore.adapters.dynamo_tables import Tables  # noqa: E402
from healthscore.adapters.dynamodb_local import DynamoDBLocal, free_port  # noqa: E402
from healthscore.dev.local_stack import SCORERS, LocalStack  # noqa: E402
from healthscore.domain.changes import EventArrived  # noqa: E402
from healthscore.domain.dataset import Event  # noqa: E402
from healthscore.services.incremental import IncrementalScorer  # noqa: E402
from healthscore.services.sweep import Sweep  # noqa: E402
from healthscore.settings import Settings  # noqa: E402
from tests.scoring.support import (  # noqa: E402
    CUSTOMER_HEALTH,
    Clock,
    item_size,
    make_live,
    seed_states,
)
from tests.scoring.test_scoring_on_dynamodb_local import (  # noqa: E402
    ACCOUNT,
    SEGMENT,
    _event,
    _portfolio,
    _saturating,
    _seed_events,
    _worker_run,
)


def fresh_store(endpoint: str) -> DynamoStore:
    tables = Tables.bind(
        Settings.for_prefix(f"b{uuid.uuid4().hex[:8]}", dynamodb_endpoint=endpoint)
    )
    tables.create_missing()
    return DynamoStore(tables)


def _mixed(n: int, contact: str, day: datetime, rng: random.Random) -> Event:
    return _event(n, contact, day, rng)


# On-demand prices, us-east-1, since 2024-11-01 (aws.amazon.com/dynamodb/pricing, /lambda/pricing)
WRITE_UNIT = 0.625e-6  # $ per write request unit
READ_UNIT = 0.125e-6  # $ per read request unit
LAMBDA_REQUEST = 0.20e-6  # $ per invocation
LAMBDA_GB_SECOND = 0.0000133334  # arm64
SCORER_GB = 0.5  # template.yaml: ScorerFunction MemorySize 512
SCORER_BATCH = 10  # template.yaml: the SQS event source's BatchSize


class SdkTime:
    """CPU spent inside the AWS SDK's calls (botocore, with pynamodb's serialisation outside it):
    an event's CPU less this is the scorer's own."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._call = botocore.client.BaseClient._make_api_call

    def __enter__(self) -> SdkTime:
        original = self._call

        def timed(client: Any, operation: str, params: dict[str, Any]) -> Any:
            started = time.process_time()
            try:
                return original(client, operation, params)
            finally:
                self.seconds += time.process_time() - started

        botocore.client.BaseClient._make_api_call = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc: object) -> None:
        botocore.client.BaseClient._make_api_call = self._call  # type: ignore[method-assign]


def _read_modify_write(client: Any, table: str, key: dict[str, Any]) -> None:
    """The floor of an event's work: read one state item and write it back."""
    item = client.get_item(TableName=table, Key=key)["Item"]
    client.put_item(TableName=table, Item=item)


def cost_per_event(endpoint: str) -> None:
    print("\n1. Cost per event (contact with one company, customer-health-score.json)")
    print(
        "   50 events per round, 3 interleaved rounds against a peer: one GetItem + PutItem of "
        "the company's state (boto3, the floor of a read-modify-write)"
    )
    header = f"{'prior events':>28} {'req':>5} {'RCU':>5} {'WCU':>5} {'state B':>8}"
    print(
        f"{header} {'CPU ms':>16} {'in the SDK':>16} {'own':>16} {'peer ms':>16} "
        f"{'× peer':>16}  by operation (per event)"
    )
    clock = Clock(datetime(2026, 6, 15, 9, tzinfo=UTC))
    scenarios = [
        ("10 on 10 days", 10, 10),
        ("10,000 on the same 10 days", 10_000, 10),
        ("10,000 over 365 days", 10_000, 365),
    ]
    costs = []
    for label, count, span in scenarios:
        store = fresh_store(endpoint)
        contact = _portfolio(store, 1, 1)["c00"][0]
        rng = random.Random(count + span)
        days = [clock() - timedelta(days=1 + (d * 365) // span) for d in range(span)]
        make = _saturating if span == 10 else functools.partial(_mixed, rng=rng)
        _seed_events(store, [make(n, contact, days[n % span]) for n in range(count)])
        make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=clock())
        scorer = IncrementalScorer(store, clock=clock)
        scorer.apply(ACCOUNT, EventArrived(make(99_999, contact, days[0])))  # warm: scored once
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        table = store.tables.scores.Meta.table_name
        key = {"pk": {"S": f"{ACCOUNT}#health"}, "sk": {"S": "companies#c00"}}
        cpu, sdk, own, peer, ratios = [], [], [], [], []
        requests = read_units = write_units = 0.0
        operations: dict[str, int] = {}
        n = 50
        for round_ in range(ROUNDS):
            new = [make(100_000 + round_ * n + i, contact, days[i % 10]) for i in range(n)]
            started = time.process_time()
            with metered() as meter, SdkTime() as in_sdk:
                for event in new:
                    scorer.apply(ACCOUNT, EventArrived(event))
            cpu.append((time.process_time() - started) * 1000 / n)
            sdk.append(in_sdk.seconds * 1000 / n)
            own.append(cpu[-1] - sdk[-1])
            started = time.process_time()
            for _ in range(n):
                _read_modify_write(client, table, key)
            peer.append((time.process_time() - started) * 1000 / n)
            ratios.append(cpu[-1] / peer[-1])
            requests += meter.total_requests
            read_units += meter.read_units
            write_units += meter.write_units
            for operation, made in meter.requests.items():
                operations[operation] = operations.get(operation, 0) + made
        events = n * ROUNDS
        size = item_size(store.tables.scores.get(f"{ACCOUNT}#health", "companies#c00"))
        ops = ", ".join(f"{k} {v / events:g}" for k, v in sorted(operations.items()))
        print(
            f"{label:>28} {requests / events:>5.2f} {read_units / events:>5.2f} "
            f"{write_units / events:>5.2f} {size:>8,} {_spread(cpu):>16} {_spread(sdk):>16} "
            f"{_spread(own):>16} {_spread(peer):>16} "
            f"{_spread(ratios, '×'):>16}  {ops}"
        )
        costs.append((label, read_units / events, write_units / events, statistics.median(cpu)))
    _dollars(costs)


def _spread(values: list[float], unit: str = "") -> str:
    return f"{statistics.median(values):.2f}{unit} ({min(values):.2f}–{max(values):.2f})"


def _dollars(costs: list[tuple[str, float, float, float]]) -> None:
    print(
        "\n   $ per million events, on-demand us-east-1: WCU × $0.625 + RCU × $0.125 (DynamoDB);"
        f" Lambda: 1/{SCORER_BATCH} invocation × $0.20 + CPU ms × {SCORER_GB:g} GB × "
        "$0.0000133334/GB-s (arm64; waiting on DynamoDB is billed too: add ~3 requests × a few ms)"
    )
    for label, read_units, write_units, cpu_ms in costs:
        dynamo = (write_units * WRITE_UNIT + read_units * READ_UNIT) * 1e6
        lam = (LAMBDA_REQUEST / SCORER_BATCH + cpu_ms / 1000 * SCORER_GB * LAMBDA_GB_SECOND) * 1e6
        print(
            f"{label:>28}  {write_units:.2f} × 0.625 + {read_units:.2f} × 0.125 = ${dynamo:.2f}"
            f"  + Lambda {1 / SCORER_BATCH:g} × 0.20 + {cpu_ms:.2f} ms → ${lam:.3f}"
            f"  = ${dynamo + lam:.2f}"
        )


def sweep_cost(endpoint: str, records: int) -> None:
    print(f"\n2. Sweep: {records:,} scored companies, 1 % due today")
    store = fresh_store(endpoint)
    store.put_segment(ACCOUNT, SEGMENT)
    make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=datetime.now(UTC))
    today = datetime(2026, 6, 15, tzinfo=UTC).date()
    started = time.perf_counter()
    due = seed_states(store, ACCOUNT, "health", CUSTOMER_HEALTH, records, 100, today)
    print(f"   seeded in {time.perf_counter() - started:.1f} s")
    clock = Clock(datetime(2026, 6, 15, 6, tzinfo=UTC))
    started = time.perf_counter()
    with metered() as meter:
        summary = Sweep(store, clock=clock).run()
    elapsed = time.perf_counter() - started
    print(f"   due {due:,}, rescored {summary.rescored:,}, history entries {summary.changed:,}")
    print(
        f"   items read {meter.items_read:,} = {meter.items_read / due:.3f}× the due records; "
        f"requests {meter.summary()['requests']}"
    )
    print(
        f"   RCU {meter.read_units:,.1f}, WCU {meter.write_units:,.1f}; "
        f"{elapsed:.1f} s ({due / elapsed:,.0f} records/s, one worker)"
    )


def throughput(endpoint: str) -> None:
    print("\n3. Concurrency: 8 workers, 5,000 events aimed at 10 companies (3 contacts each)")
    store = fresh_store(endpoint)
    people = _portfolio(store, 10, 3)
    clock = Clock(datetime(2026, 6, 15, 9, tzinfo=UTC))
    make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=clock())
    rng = random.Random(8)
    contacts = [p for group in people.values() for p in group]
    events = [
        _event(n, rng.choice(contacts), clock() - timedelta(days=rng.randrange(200)), rng)
        for n in range(5000)
    ]
    started = time.perf_counter()
    with metered() as meter:
        _worker_run(store, events, clock, workers=8)
    elapsed = time.perf_counter() - started
    writes = sum(meter.requests[k] for k in ("TransactWriteItems", "PutItem", "DeleteItem"))
    print(
        f"   {elapsed:.1f} s, {5000 / elapsed:,.0f} events/s; {writes:,} writes for 5,000 events"
        f" (a write is refused when another worker changed the state first, then retried)"
    )


def local_throughput(events_per_round: int = 2_000) -> None:
    print(
        f"\n4. The local stack end to end: {events_per_round:,} events per round, HubSpot-signed "
        "webhooks (100 per delivery, 2 senders) → the webhook handler → moto's SQS → "
        f"{SCORERS} scorer instances → DynamoDB Local, until the queue is drained; beside it the "
        f"peer: the same number of events scored straight into DynamoDB Local by {SCORERS} "
        "threads (no webhook, no queue). 100 companies × 5 contacts, one live score."
    )
    log = ROOT / ".cache" / "bench-local-stack.log"  # the handlers' logs and EMF metrics
    log.parent.mkdir(exist_ok=True)
    stack = LocalStack.start(ROOT, backend="dynamodb-local", prefix="bench")
    with log.open("w", encoding="utf-8") as out, contextlib.redirect_stdout(out):
        rates, stored = _local_rounds(stack, events_per_round)
    ratios = [a / b for a, b in zip(rates["pipeline"], rates["peer"], strict=True)]
    print(f"   {'':>10} {'events/s':>22}")
    for kind, values in rates.items():
        print(f"   {kind:>10} {_spread(values):>22}")
    print(f"   pipeline ÷ peer: {_spread(ratios, '×')}; every event stored ({stored:,})")


def _local_rounds(stack: LocalStack, events_per_round: int) -> tuple[dict[str, list[float]], int]:
    """Interleaved rounds: the pipeline, then the peer, on one stack (distinct events each)."""
    try:
        port = free_port()
        stack.serve(port)
        url = f"http://127.0.0.1:{port}"
        store = DynamoStore(Tables.bind(stack.settings))
        people = [p for group in _portfolio(store, 100, 5).values() for p in group]
        now = stack.clock.now()
        make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=now)
        secret = stack.webhook_secret(ACCOUNT)
        rng = random.Random(4)
        rates: dict[str, list[float]] = {"pipeline": [], "peer": []}
        for round_ in range(ROUNDS):
            for kind in ("pipeline", "peer"):
                base = (round_ * 2 + (kind == "peer")) * events_per_round
                batch = [
                    _event(
                        base + n, rng.choice(people), now - timedelta(days=rng.randrange(200)), rng
                    )
                    for n in range(events_per_round)
                ]
                started = time.perf_counter()
                if kind == "pipeline":
                    deliveries = [batch[i : i + 100] for i in range(0, len(batch), 100)]
                    with ThreadPoolExecutor(2) as senders:
                        accepted = sum(
                            senders.map(lambda d: post_events(url, secret, d, ACCOUNT), deliveries)
                        )
                    assert accepted == len(batch), f"{accepted} of {len(batch)} accepted"
                    stack.drain(timeout=600)
                else:
                    _worker_run(store, batch, Clock(now), workers=SCORERS)
                rates[kind].append(len(batch) / (time.perf_counter() - started))
        stored = sum(1 for _ in store.tables.events.scan())
        assert stored == ROUNDS * 2 * events_per_round, f"{stored} events stored"
    finally:
        stack.stop()
    return rates, stored


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")  # DynamoDB Local accepts any
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument(
        "--parts", default="cost,sweep,throughput,local", help="which, comma-separated"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    local = DynamoDBLocal.start(ROOT)
    try:
        if "cost" in parts:
            cost_per_event(local.endpoint)
        if "sweep" in parts:
            sweep_cost(local.endpoint, args.records)
        if "throughput" in parts:
            throughput(local.endpoint)
    finally:
        local.stop()
    if "local" in parts:
        local_throughput()


if __name__ == "__main__":
    main()
