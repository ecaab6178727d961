"""HubSpot's deliveries as HubSpot sends them, into `healthscore serve`: every subscription type
of HubSpot's webhooks API in one batch signed by HubSpot's SDK (the kinds healthscore reads are
applied, the others skipped with their reasons), one public-app URL for many portals, and SSM
trouble answered with 503 so HubSpot retries."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from botocore.stub import Stubber

from healthscore.adapters.webhook_secrets import WebhookSecrets
from healthscore.adapters.webhooks import OBJECT_TYPES
from healthscore.dev.local_stack import LocalStack, load_handler
from tests.e2e.conftest import ROOT
from tests.e2e.test_local_stack import call
from tests.e2e.test_webhooks_local import _store
from tests.hubspot_payloads import hubspot_signed, is_read, item, subscription_types

PORTAL = 4242


def post(url: str, path: str, secret: str, items: list[dict[str, Any]]) -> tuple[int, Any]:
    uri = f"{url}{path}"
    body = json.dumps(items).encode()
    request = urllib.request.Request(uri, data=body, method="POST")
    for name, value in hubspot_signed(secret, uri, body, datetime.now(UTC)).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _register_portal(local: LocalStack, portal: int, account: str) -> None:
    ssm = local.client("ssm")
    name = f"{local.settings.hubspot_app_path}/portals/{portal}"
    ssm.put_parameter(Name=name, Value=account, Type="String", Overwrite=True)
    load_handler(ROOT, "webhook").secrets.cache_clear()


def test_every_hubspot_subscription_type_in_one_batch_applies_what_is_read(served):
    local, url = served
    account = "hubspot-portal"
    secret = call(f"{url}/local/webhook-secret?account={account}", "POST")[1]["secret"]
    _register_portal(local, PORTAL, account)
    kinds = subscription_types()
    assert len(kinds) >= 40
    assert {"line_item.creation", "contact.merge", "object.associationChange"} <= set(kinds)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    items = [
        item(kind, PORTAL, 7000 + i, now_ms - 60_000 + i, 100 * (i + 1))
        for i, kind in enumerate(kinds)
    ]
    status, reply = post(url, f"/webhooks/events?account={account}", secret, items)
    assert status == 202, reply
    read = [i for i, kind in enumerate(kinds) if is_read(kind)]
    assert reply["accepted"] == len(read)
    assert [s["index"] for s in reply["skipped"]] == [i for i in range(len(kinds)) if i not in read]
    assert all(s["reason"].startswith(f"[{s['index']}].") for s in reply["skipped"])
    local.drain()
    # Then what was read is stored: records created, restored or changed; links set
    records, links = set(), set()
    for i in read:
        prefix, _, action = kinds[i].partition(".")
        object_type = OBJECT_TYPES["0-1" if prefix == "object" else prefix]
        object_id = str(100 * (i + 1))
        if action in ("creation", "restore", "propertyChange"):
            records.add((object_type, object_id))
        if action == "associationChange":
            other = "contacts" if object_type == "companies" else "companies"
            links.add((object_type, object_id, other, str(9000 + 100 * (i + 1))))
    store = _store(local)
    stored = {(r.object_type, r.id): r for r in store.all_records(account)}
    assert set(stored) == records
    changed = [r for r in stored.values() if r.properties.get("lifecyclestage") == "customer"]
    assert len(changed) == sum(kinds[i].endswith("propertyChange") for i in read)
    stored_links = {
        frozenset({(a.from_type, a.from_id), (a.to_type, a.to_id)})
        for a in store.all_associations(account)
    }
    assert stored_links == {frozenset({(a, b), (c, d)}) for a, b, c, d in links}


def test_one_public_app_url_routes_each_portals_items_to_its_account(served):
    local, url = served
    ssm = local.client("ssm")
    ssm.put_parameter(
        Name=f"{local.settings.hubspot_app_path}/client-secret",
        Value="app-secret",
        Type="SecureString",
        Overwrite=True,
    )
    _register_portal(local, 111, "portal-a")
    _register_portal(local, 222, "portal-b")
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    items = [
        item("company.creation", 111, 1, now_ms, 1),
        item("company.creation", 222, 2, now_ms, 2),
        item("company.creation", 333, 3, now_ms, 3),  # a portal nobody registered
    ]
    status, reply = post(url, "/webhooks/events", "app-secret", items)
    assert status == 202, reply
    assert reply["accepted"] == 2
    assert reply["skipped"] == [
        {"index": 2, "reason": "[2].portalId: 333 is not registered to an account"}
    ]
    local.drain()
    store = _store(local)
    assert [r.id for r in store.all_records("portal-a")] == ["1"]
    assert [r.id for r in store.all_records("portal-b")] == ["2"]
    # and the app's URL signed with an account's secret is refused like any bad signature
    status, reply = post(url, "/webhooks/events", "not-the-app-secret", items)
    assert status == 401
    assert reply["message"] == "X-HubSpot-Signature-v3 does not match the request"


def test_ssm_throttling_is_503_for_hubspot_to_retry_and_stores_nothing(served):
    local, url = served
    account = "throttled"
    secret = call(f"{url}/local/webhook-secret?account={account}", "POST")[1]["secret"]
    webhook = load_handler(ROOT, "webhook")
    ssm = local.client("ssm")
    stubber = Stubber(ssm)
    stubber.add_client_error("get_parameter", "ThrottlingException", "Rate exceeded", 400)
    throttled = WebhookSecrets(
        ssm, local.settings.webhook_secrets_path, local.settings.hubspot_app_path
    )
    original = webhook.secrets
    webhook.secrets = lambda: throttled
    try:
        with stubber:
            items = [item("company.creation", PORTAL, 1, 1781000000000, 5)]
            status, reply = post(url, f"/webhooks/events?account={account}", secret, items)
    finally:
        webhook.secrets = original
    assert status == 503, reply
    assert "try again" in reply["message"]
    local.drain()
    assert list(_store(local).all_records(account)) == []
    # and once SSM answers again, the same delivery goes through
    status, reply = post(url, f"/webhooks/events?account={account}", secret, items)
    assert (status, reply["accepted"]) == (202, 0)  # portal 4242 is another account's


OUTBOX_SCORE = {
    "name": "NPS health",
    "object_type": "companies",
    "segments": ["seg-all-companies"],
    "groups": [
        {
            "name": "NPS",
            "kind": "property",
            "max_points": 100,
            "rules": [
                {
                    "object": "self",
                    "points": 60,
                    "conditions": [{"property": "nps_score", "operator": "gte", "value": 9}],
                }
            ],
        }
    ],
    "thresholds": [
        {"min": 0, "label": "At-risk", "color": "#d0021b"},
        {"min": 50, "label": "Healthy", "color": "#2e9d5b"},
    ],
}


def test_a_crash_after_the_commit_still_publishes_each_status_change_exactly_once(
    served, monkeypatch
):
    from healthscore.services.incremental import IncrementalScorer

    local, url = served
    account = "outbox"
    token = local.token(account)
    secret = call(f"{url}/local/webhook-secret?account={account}", "POST")[1]["secret"]
    # Given an EventBridge rule that collects every Health status changed into a queue
    sqs, events = local.client("sqs"), local.client("events")
    inbox = sqs.create_queue(QueueName="status-changes")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["healthscore"], "detail-type": ["Health status changed"]}
    events.put_rule(Name="all-status-changes", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="all-status-changes", Targets=[{"Id": "inbox", "Arn": inbox_arn}])
    # and a live score over two At-risk companies
    segment = {"id": "seg-all-companies", "name": "All companies", "object_type": "companies"}
    assert call(f"{url}/segments/seg-all-companies", "PUT", segment, token)[0] == 200
    for company in ("a", "b"):
        body = {"properties": {"nps_score": 3}}
        assert call(f"{url}/records/companies/{company}", "PUT", body, token)[0] == 200
    status, created = call(f"{url}/definitions", "POST", OUTBOX_SCORE, token)
    assert status == 201, created
    on = call(
        f"{url}/definitions/{created['id']}/turn-on?version={created['version']}",
        "POST",
        None,
        token,
    )
    assert on[0] == 202, on
    call(f"{url}/local/drain", "POST")
    # When both turn Healthy by webhook, and the scorer stops right after each first commit
    crashed: set[str] = set()
    real_apply = IncrementalScorer.apply

    def apply_then_crash(self, account_id, change):
        outcome = real_apply(self, account_id, change)
        if change.summary not in crashed:
            crashed.add(change.summary)
            raise RuntimeError("injected: the function stopped after its commit")
        return outcome

    monkeypatch.setattr(IncrementalScorer, "apply", apply_then_crash)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    items = [
        {
            "subscriptionType": "company.propertyChange",
            "objectId": company,
            "occurredAt": now_ms,
            "eventId": n,
            "propertyName": "nps_score",
            "propertyValue": 10,
        }
        for n, company in enumerate(("a", "b"))
    ]
    status, reply = post(url, f"/webhooks/events?account={account}", secret, items)
    assert (status, reply["accepted"]) == (202, 2), reply
    local.drain()
    monkeypatch.setattr(IncrementalScorer, "apply", real_apply)
    # Then each change was redelivered after its crash, and each status change went out once
    assert len(crashed) == 2
    received: list[dict[str, Any]] = []
    for _ in range(20):  # drain waited for the stream: they are there, and nothing more comes
        got = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        received += [json.loads(m["Body"]) for m in messages]
        if not messages and len(received) >= 2:
            break
        if not messages:
            time.sleep(0.2)
    details = [e["detail"] for e in received if e["detail"]["account_id"] == account]
    assert sorted((d["record_id"], d["status_before"], d["status_after"]) for d in details) == [
        ("a", "At-risk", "Healthy"),
        ("b", "At-risk", "Healthy"),
    ]
    assert len({d["id"] for d in details}) == 2
