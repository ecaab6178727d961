"""`make bench` (part 2): the incremental path on DynamoDB Local — cost per event, the sweep's
reads, and concurrent throughput. DynamoDB Local computes consumed capacity from item sizes as
DynamoDB does; every request is counted by `healthscore.adapters.dynamo_meter`.

1. Cost per event: a contact with one company; the company has 10 or 10,000 prior events on
   the same ten days (enough to reach the rules' limits, so new ones move no score either way),
   or 10,000 of mixed types spread over a year (its tally holds a year's days: the size bound);
   50 new events each. Requests, RCU and WCU per event, and by operation.
2. Sweep: 100,000 scored companies, 1 % due today. Items read, requests, capacity, time.
3. Throughput: 8 workers scoring 5,000 events aimed at 10 companies (every write contends).

    python scripts/bench_incremental.py [--records 100000]
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))  # the seeding helpers the tests use

from healthscore.adapters.dynamo_meter import metered  # noqa: E402
from healthscore.adapters.dynamo_store import DynamoStore  # noqa: E402
from healthscore.adapters.dynamo_tables import Tables  # noqa: E402
from healthscore.adapters.dynamodb_local import DynamoDBLocal  # noqa: E402
from healthscore.domain.changes import EventArrived  # noqa: E402
from healthscore.domain.dataset import Event  # noqa: E402
from healthscore.services.incremental import IncrementalScorer  # noqa: E402
from healthscore.services.sweep import Sweep  # noqa: E402
from healthscore.settings import Settings  # noqa: E402
from tests.scoring.support import CUSTOMER_HEALTH, Clock, make_live, seed_states  # noqa: E402
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


def cost_per_event(endpoint: str) -> None:
    print("\n1. Cost per event (contact with one company, customer-health-score.json)")
    print(
        f"{'prior events':>28} {'req/event':>10} {'RCU/event':>10} {'WCU/event':>10}  by operation"
    )
    clock = Clock(datetime(2026, 6, 15, 9, tzinfo=UTC))
    scenarios = [
        ("10 on 10 days", 10, 10),
        ("10,000 on the same 10 days", 10_000, 10),
        ("10,000 over 365 days", 10_000, 365),
    ]
    for label, count, span in scenarios:
        store = fresh_store(endpoint)
        contact = _portfolio(store, 1, 1)["c00"][0]
        rng = random.Random(count + span)
        days = [clock() - timedelta(days=1 + (d * 365) // span) for d in range(span)]
        make = _saturating if span == 10 else functools.partial(_mixed, rng=rng)
        _seed_events(store, [make(n, contact, days[n % span]) for n in range(count)])
        make_live(store, ACCOUNT, "health", CUSTOMER_HEALTH, as_of=clock())
        scorer = IncrementalScorer(store, clock=clock)
        new = [make(100_000 + n, contact, days[n % 10]) for n in range(50)]
        with metered() as meter:
            for event in new:
                scorer.apply(ACCOUNT, EventArrived(event))
        n = len(new)
        ops = ", ".join(f"{k} {v / n:g}" for k, v in sorted(meter.requests.items()))
        print(
            f"{label:>28} {meter.total_requests / n:>10.2f} {meter.read_units / n:>10.2f} "
            f"{meter.write_units / n:>10.2f}  {ops}"
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
    transactions = meter.requests["TransactWriteItems"]
    print(
        f"   {elapsed:.1f} s, {5000 / elapsed:,.0f} events/s; {transactions:,} transactions for "
        f"5,000 events ({transactions - 5000:,} lost a race and were retried)"
    )


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")  # DynamoDB Local accepts any
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    local = DynamoDBLocal.start(ROOT)
    try:
        cost_per_event(local.endpoint)
        sweep_cost(local.endpoint, args.records)
        throughput(local.endpoint)
    finally:
        local.stop()


if __name__ == "__main__":
    main()
