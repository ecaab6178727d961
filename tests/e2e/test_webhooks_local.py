"""Signed webhooks into `healthscore serve` over HTTP: the real webhook handler, the changes queue
drained into the real scorer, the sweep on the local clock — against the batch engine."""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from healthscore.adapters.dataset_files import read_dataset
from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.adapters.hubspot_signature import signed_headers
from healthscore.dev.local_stack import LocalStack, load_handler
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.validation import parse_definition
from healthscore.services.scoring import Engine, score_rows
from tests.e2e.test_local_stack import call

ROOT = Path(__file__).parents[2]
SINGULAR = {"companies": "company", "contacts": "contact", "tickets": "ticket", "deals": "deal"}
CUSTOMER_HEALTH = json.loads((ROOT / "docs/examples/customer-health-score.json").read_text())


def post_signed(
    url: str,
    account: str,
    secret: str | None,
    items: Any,
    *,
    at: datetime | None = None,
    query_account: str | None = None,
) -> tuple[int, Any]:
    """POST a batch, signed the HubSpot v3 way over exactly the bytes sent."""
    uri = f"{url}/webhooks/events?account={query_account or account}"
    body = json.dumps(items).encode()
    request = urllib.request.Request(uri, data=body, method="POST")
    request.add_header("content-type", "application/json")
    if secret is not None:
        for name, value in signed_headers(
            secret, "POST", uri, body, at or datetime.now(UTC)
        ).items():
            request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _store(local: LocalStack) -> DynamoStore:
    return DynamoStore(Tables.bind(local.settings))


def _wait_for_job(url: str, token: str, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = call(f"{url}/jobs/{job_id}", token=token)[1]
        if job["status"] in ("succeeded", "failed"):
            assert job["status"] == "succeeded", job
            return
        time.sleep(0.2)
    raise AssertionError("the turn-on job did not finish")


@pytest.mark.parametrize(
    "companies",
    [
        # in make soak only: make test keeps every subscription type through HTTP
        # (test_hubspot_deliveries) and the shuffled-log invariance (tests/scoring)
        pytest.param(12, id="12-companies", marks=pytest.mark.soak),
    ],
)
def test_signed_webhooks_shuffled_and_duplicated_then_swept_equal_the_batch_engine(
    served, tmp_path, companies
):
    local, url = served
    account = f"replay-{companies}"
    token = local.token(account)
    # This test is the incremental path against the batch engine, so the nightly reconciliation
    # (which `clock advance 45d` below would run 45 times, repairing what it finds) is off for
    # this account: it would mend a drift this test must see as a difference. (Under load it
    # found a tally-only drift here intermittently: an open finding, left to its own work.)
    sweep = load_handler(ROOT, "sweep")
    os.environ["RECONCILE_OPT_OUT"] = account
    sweep.settings.cache_clear()
    secret = call(f"{url}/local/webhook-secret?account={account}", "POST")[1]["secret"]
    # Given a sample portfolio ending today: records, links and segments sent through the API
    # (properties with a history arrive as HubSpot property changes below, at their times)
    folder = tmp_path / "portfolio"
    generate_portfolio(folder, companies, seed=21, until=local.clock.now().date())
    data = read_dataset(folder)
    dated = {(c.object_type, c.id, c.name) for c in data.property_changes}
    for line in (folder / "segments.jsonl").read_text().splitlines():
        segment = json.loads(line)
        assert call(f"{url}/segments/{segment['id']}", "PUT", segment, token)[0] == 200
    for record in data.all_records():
        properties = {
            name: value
            for name, value in record.properties.items()
            if (record.object_type, record.id, name) not in dated
        }
        body = {"properties": properties, "lists": sorted(record.lists)}
        path = f"{url}/records/{record.object_type}/{record.id}"
        assert call(path, "PUT", body, token)[0] == 200
    for one, other, labels in data.association_pairs():
        if one < other:
            line = {"from_type": one[0], "from_id": one[1], "to_type": other[0]}
            line |= {"to_id": other[1], "labels": sorted(labels)}
            assert call(f"{url}/associations", "POST", line, token)[0] == 201
    # and the customer health score turned on
    status, created = call(f"{url}/definitions", "POST", CUSTOMER_HEALTH, token)
    assert status == 201, created
    did = created["id"]
    status, on = call(
        f"{url}/definitions/{did}/turn-on?version={created['version']}", "POST", None, token
    )
    assert status == 202, on
    _wait_for_job(url, token, on["job"]["id"])
    # When a year of events and property changes arrives through signed webhooks, shuffled,
    # 10 % sent twice
    lines = (folder / "events.jsonl").read_text().splitlines()
    items = [json.loads(line) for line in lines]
    items += [
        {
            "subscriptionType": f"{SINGULAR[change.object_type]}.propertyChange",
            "objectId": change.id,
            "occurredAt": int(change.changed_at.timestamp() * 1000),
            "eventId": 9_000_000 + n,
            "propertyName": change.name,
            "propertyValue": change.value,
        }
        for n, change in enumerate(data.property_changes)
    ]
    random.Random(5).shuffle(items)
    items += random.Random(6).sample(items, len(items) // 10)
    for start in range(0, len(items), 100):
        status, reply = post_signed(url, account, secret, items[start : start + 100])
        assert status == 202, reply
        assert reply == {"accepted": len(items[start : start + 100]), "skipped": []}
    local.drain(timeout=600)  # ~2,000 items; make soak runs it beside the 10,000-company import
    # and CSMs override four companies through the API, two of them expiring within 45 days
    now = local.clock.now()
    overridden = [r.id for r in data.records_of("companies")][:4]
    statuses = ["At-risk", "Healthy", "Neutral", "At-risk"]
    overrides = []
    for company, status_set, days, score in zip(
        overridden, statuses, (10, 30, 60, 90), (None, 85, None, 12), strict=True
    ):
        body = {
            "status": status_set,
            "score": score,
            "reason": f"known better for {days} days",
            "expires_at": (now + timedelta(days=days)).isoformat(),
        }
        status, card = call(
            f"{url}/definitions/{did}/records/companies/{company}/override", "PUT", body, token
        )
        assert status == 200, card
        overrides.append(
            {"object_type": "companies", "id": company, "definition": CUSTOMER_HEALTH["name"]}
            | card["override"]
        )
    (folder / "overrides.jsonl").write_text("".join(json.dumps(o) + "\n" for o in overrides))
    # and the clock moves on 45 days (the sweep applies decay, expiries, stale inputs)
    status, moved = call(f"{url}/local/clock", "POST", {"advance": "45d"})
    assert status == 200, moved
    as_of = datetime.fromisoformat(moved["now"])
    # Then every score is exactly the batch engine's on that day: effective and computed score
    # and status, groups, stale inputs and the override in effect
    rows = score_rows(parse_definition(CUSTOMER_HEALTH), folder, as_of, Engine.POLARS)

    def shown(score: int, status: str, groups: dict, stale: list, override: Any) -> tuple:
        return (score, status, groups, stale, None if override is None else override["reason"])

    expected = {
        r["id"]: shown(r["score"], r["status"], r["groups"], r.get("stale", []), r.get("override"))
        for r in rows
    }
    states = list(_store(local).scores(account, did))
    stored = {s.key[1]: shown(s.score, s.status, s.groups, s.stale, s.override) for s in states}
    assert stored == expected
    assert sum(1 for r in rows if "override" in r) == 2  # two ended on their day, two did not
    assert sum(1 for r in rows if r.get("stale")) >= 1
    # and a company's history tells what moved it
    company = overridden[0]
    status, history = call(
        f"{url}/definitions/{did}/records/companies/{company}/history", token=token
    )
    assert status == 200
    kinds = {entry["cause"]["kind"] for entry in history["entries"]}
    assert kinds <= {"recompute", "event", "property", "time", "override"}
    assert all(entry["cause"]["summary"] for entry in history["entries"])
    ended = [e for e in history["entries"] if e["cause"].get("override", {}).get("action")]
    assert [e["cause"]["override"]["action"] for e in ended] == ["expired"]


EVENT = {
    "id": "x1",
    "type": "meeting_booked",
    "occurred_at": "2026-01-01T10:00:00Z",
    "object_type": "contacts",
    "object_id": "p1",
    "properties": {},
}


def test_unsigned_bad_stale_and_cross_account_webhooks_are_refused_and_store_nothing(served):
    local, url = served
    secret = call(f"{url}/local/webhook-secret?account=alpha", "POST")[1]["secret"]
    other = call(f"{url}/local/webhook-secret?account=beta", "POST")[1]["secret"]
    stale = datetime.now(UTC) - timedelta(minutes=10)
    refusals = [
        (post_signed(url, "alpha", None, [EVENT]), "headers are required"),  # unsigned
        (post_signed(url, "alpha", "wrong-secret", [EVENT]), "does not match"),  # badly signed
        (post_signed(url, "alpha", secret, [EVENT], at=stale), "5 minutes"),  # replayed, stale
        (post_signed(url, "alpha", other, [EVENT]), "does not match"),  # beta's secret
        (post_signed(url, "alpha", secret, [EVENT], query_account="beta"), "does not match"),
        (post_signed(url, "nobody", "x", [EVENT]), "does not match"),  # no such account
    ]
    for (status, reply), words in refusals:
        assert status == 401, reply
        assert words in reply["message"]
    # an unknown account reads exactly like a wrong signature: nothing tells which exist
    assert refusals[-1][0] == refusals[1][0]
    local.drain()
    store = _store(local)
    for account in ("alpha", "beta", "nobody"):
        assert list(store.all_events(account)) == []
        assert list(store.all_records(account)) == []
    # while the same batch, signed properly, is accepted and stored; an item naming another
    # portal is skipped, not stored anywhere, and does not cost the good item beside it
    cross = {
        "subscriptionType": "contact.creation",
        "objectId": 1,
        "occurredAt": 1781000000000,
        "portalId": "beta",
    }
    status, reply = post_signed(url, "alpha", secret, [EVENT, cross])
    assert status == 202, reply
    assert reply["accepted"] == 1
    assert [(s["index"], s["reason"].split(":")[0]) for s in reply["skipped"]] == [
        (1, "[1].portalId")
    ]
    local.drain()
    assert [e.id for e in store.all_events("alpha")] == ["x1"]
    assert list(store.all_records("alpha")) == []
    assert list(store.all_records("beta")) == []


def test_the_local_clock_only_moves_forward(served):
    _local, url = served
    before = call(f"{url}/local/clock")[1]["now"]
    assert call(f"{url}/local/clock", "POST", {"advance": "-1d"})[0] == 400
    assert call(f"{url}/local/clock", "POST", {"advance": "soon"})[0] == 400
    assert call(f"{url}/local/clock")[1]["now"] >= before


def test_a_poison_message_goes_to_the_dead_letter_queue_and_scoring_goes_on(served):
    local, url = served
    secret = call(f"{url}/local/webhook-secret?account=poison", "POST")[1]["secret"]
    sqs = local.client("sqs")
    # Given a message no scorer can read at the head of the changes queue
    sqs.send_message(QueueUrl=local.settings.changes_queue_url, MessageBody="{not a change")
    # When a good change follows it
    event = {**EVENT, "id": "after-poison"}
    assert post_signed(url, "poison", secret, [event])[0] == 202
    local.drain()
    # Then the good change is applied, the poison is in the DLQ after its five receives,
    # and the scorers still run
    assert [e.id for e in _store(local).all_events("poison")] == ["after-poison"]
    assert local.dead_letters()["ChangesDeadLetterQueue"] == 1
    assert call(f"{url}/local/queues")[1]["depths"]["ChangesDeadLetterQueue"] == 1
    late = {**EVENT, "id": "later"}
    assert post_signed(url, "poison", secret, [late])[0] == 202
    local.drain()
    assert {e.id for e in _store(local).all_events("poison")} == {"after-poison", "later"}
