"""`make bench` (part 3): the nightly reconciliation on DynamoDB Local.

A sample portfolio (`generate_portfolio`, about 9.6 records, 11 links and 27 events per company)
is stored in DynamoDB Local with batch writes, the customer health score turned on (its
recompute writes every state), then reconciled twice: once as it is (drift should be 0, and
nothing is written), once after 10 states were corrupted (a wrong score written straight into
the table: exactly those are found and rewritten). Each run is metered: time, requests by
operation, RCU/WCU, and how many items of the scores table were read (each state once). Then
what the night leaves for analysts: the export (time, requests, size) and a year's trend read
from the snapshots.

    python scripts/bench_reconcile.py [--companies 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))  # the seeding helpers the tests use

from healthscore.adapters.dataset_export import LocalExports  # noqa: E402
from healthscore.adapters.dataset_files import read_dataset  # noqa: E402
from healthscore.adapters.dynamo_meter import DynamoMeter, metered  # noqa: E402
from healthscore.adapters.dynamo_store import DynamoStore  # noqa: E402
from healthscore.adapters.dynamo_tables import Tables  # noqa: E402
from healthscore.adapters.dynamo_writes import association_keys  # noqa: E402
from healthscore.adapters.dynamodb_local import DynamoDBLocal  # noqa: E402
from healthscore.dev.sample_portfolio import generate_portfolio  # noqa: E402
from healthscore.domain.dataset import AssociationLine  # noqa: E402
from healthscore.services.exports import export_score  # noqa: E402
from healthscore.services.recompute import recompute  # noqa: E402
from healthscore.services.reconcile import ReconcileReport, reconcile  # noqa: E402
from healthscore.settings import Settings  # noqa: E402
from tests.scoring.support import CUSTOMER_HEALTH  # noqa: E402

ACCOUNT = "acme"
AS_OF = datetime(2026, 6, 15, 18, tzinfo=UTC)
CORRUPTED = 10


def seed(store: DynamoStore, companies: int, companies_only: bool = False) -> int:
    """The portfolio stored as the API and webhooks would leave it; how many items. With
    `companies_only`, only the companies and their own events (no contacts, tickets, deals or
    links): a 100,000-company account DynamoDB Local can page through in minutes."""
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as work:
        folder = Path(work)
        generate_portfolio(folder, companies, seed=7, until=AS_OF.date())
        data = read_dataset(folder)
        for line in (folder / "segments.jsonl").read_text().splitlines():
            store.put_segment(ACCOUNT, json.loads(line))
    items = 0
    with store.tables.records.batch_write() as batch:
        for record in data.all_records():
            if companies_only and record.object_type != "companies":
                continue
            batch.save(store.new_record_item(ACCOUNT, record))
            items += 1
        links = store.tables.associations
        for one, other, labels in data.association_pairs():
            if one < other and not companies_only:
                line = AssociationLine(*one, *other, tuple(sorted(labels)))
                for sk in association_keys(line):
                    batch.save(links(ACCOUNT, sk, labels=list(line.labels), updated_at=AS_OF))
                    items += 1
    with store.tables.events.batch_write() as batch:
        for event in data.all_events():
            if companies_only and event.object_type != "companies":
                continue
            batch.save(store.event_item(ACCOUNT, event))
            items += 1
    return items


def run(store: DynamoStore, job: str) -> tuple[ReconcileReport, DynamoMeter, float]:
    started = time.perf_counter()
    with metered() as meter:
        report = reconcile(store, ACCOUNT, "health", job, AS_OF)
    return report, meter, time.perf_counter() - started


def show(
    label: str, report: ReconcileReport, meter: DynamoMeter, seconds: float, table: str
) -> None:
    states = meter.items_by_table[table]
    print(
        f"\n   {label}: {seconds:.1f} s, {report.compared:,} compared, {report.drifted} drifted, "
        f"{report.repaired} repaired, {report.pending} pending"
    )
    print(f"     requests {dict(sorted(meter.requests.items()))}")
    print(
        f"     RCU {meter.read_units:,.1f}, WCU {meter.write_units:,.1f}; "
        f"score states read {states:,} ({states / max(report.compared + report.pending, 1):.3f}×"
        " the states)"
    )


def export_and_trend(store: DynamoStore) -> None:
    """What the night leaves for analysts: the export (the account's dataset and the stored
    scores) and a year's trend read from the snapshots."""
    with tempfile.TemporaryDirectory(prefix="bench-export-") as work:
        started = time.perf_counter()
        with metered() as meter:
            detail = export_score(store, LocalExports(Path(work)), ACCOUNT, "health", "x", AS_OF)
        seconds = time.perf_counter() - started
        size = sum(int(f["bytes"]) for f in detail["files"])
        scores = next(f["bytes"] for f in detail["files"] if f["name"] == "scores.parquet")
    print(
        f"\n   export: {seconds:.1f} s, {detail['records']:,} records, {detail['scores']:,} "
        f"stored scores; {size / 1e6:,.1f} MB ({scores / 1e6:,.2f} MB scores.parquet)"
    )
    print(f"     requests {dict(sorted(meter.requests.items()))}")
    print(f"     RCU {meter.read_units:,.1f}, WCU {meter.write_units:,.1f}")
    with metered() as meter:
        rows = store.snapshots(ACCOUNT, "health", AS_OF.date() - timedelta(days=365))
    print(
        f"   trend of a year: {len(rows)} row(s) read in {sum(meter.requests.values())} "
        f"request(s), {meter.read_units:,.1f} RCU"
    )


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")  # DynamoDB Local accepts any
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument(
        "--companies-only",
        action="store_true",
        help="store only the companies and their own events (DynamoDB Local pages a partition "
        "of millions of items at ~1,700 items/s: the full 100,000-company account takes hours)",
    )
    args = parser.parse_args()
    print(
        f"\nReconciliation: {args.companies:,} companies on DynamoDB Local, "
        "customer-health-score.json"
        + (" (companies and their events only)" if args.companies_only else "")
    )
    local = DynamoDBLocal.start(ROOT)
    try:
        settings = Settings.for_prefix(f"r{uuid.uuid4().hex[:8]}", dynamodb_endpoint=local.endpoint)
        tables = Tables.bind(settings)
        tables.create_missing()
        store = DynamoStore(tables)
        started = time.perf_counter()
        items = seed(store, args.companies, args.companies_only)
        print(f"   seeded {items:,} items in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        store.put_live_definition(ACCOUNT, "health", CUSTOMER_HEALTH, 1)
        recompute(store, ACCOUNT, "health", "turn-on", AS_OF)
        print(
            "   turned on (the recompute wrote the states) in "
            f"{time.perf_counter() - started:.0f} s"
        )
        table = tables.scores.Meta.table_name
        report, meter, seconds = run(store, "clean")
        show("as stored", report, meter, seconds, table)
        for item in list(tables.scores.query(f"{ACCOUNT}#health", limit=CORRUPTED)):
            item.score = (item.score + 37) % 100
            item.save()
        report, meter, seconds = run(store, "corrupted")
        show(f"after {CORRUPTED} states were corrupted", report, meter, seconds, table)
        export_and_trend(store)
    finally:
        local.stop()


if __name__ == "__main__":
    main()
