"""The HubSpot loop on the local stack, as deployed: connect over the API, the scheduled sync
imports the fake portal through the changes queue and the scorer, a turn-on lands every
in-scope company's score and status in the portal (history stream → Pipe → write-back queue
→ write-back function), and changes made in the portal come back as new scores within one
batch call per 100 changed records."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from healthscore.adapters.dataset_files import read_dataset
from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.adapters.dynamodb_local import free_port
from healthscore.dev.fake_hubspot import Portal, serve
from healthscore.dev.local_stack import LocalStack
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.validation import parse_definition
from tests.e2e.test_local_stack import call

ROOT = Path(__file__).parents[2]
DEFINITION = json.loads((ROOT / "docs/examples/customer-health-score.json").read_text())
TOKEN = "pat-na1-local-e2e"
ACCOUNT = "acme"
COMPANIES = 12


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, str, Portal]]:
    import os

    folder = tmp_path_factory.mktemp("hubspot-local") / "portfolio"
    generate_portfolio(folder, COMPANIES, seed=9, until=datetime.now(UTC).date())
    portal = Portal.from_dataset(
        read_dataset(folder), modified=datetime.now(UTC) - timedelta(hours=1)
    )
    port = free_port()
    server = serve(portal, port, TOKEN)
    saved = dict(os.environ)
    local = LocalStack.start(
        ROOT,
        backend="dynamodb-local",
        prefix="e2e-hubspot",
        exports_folder=Path(tempfile.mkdtemp(prefix="e2e-exports-")),
        hubspot_base_url=f"http://127.0.0.1:{port}",
    )
    api = free_port()
    local.serve(api)
    url = f"http://127.0.0.1:{api}"
    token = local.token(ACCOUNT)
    for line in (folder / "segments.jsonl").read_text().splitlines():
        segment = json.loads(line)
        assert call(f"{url}/segments/{segment['id']}", "PUT", segment, token)[0] == 200
    try:
        yield local, url, portal
    finally:
        local.stop()
        server.shutdown()
        os.environ.clear()
        os.environ.update(saved)


def stored(local: LocalStack, definition_id: str) -> dict[str, tuple[str, str]]:
    store = DynamoStore(Tables.bind(local.settings))
    return {s.key[1]: (str(s.score), s.status or "") for s in store.scores(ACCOUNT, definition_id)}


def in_portal(portal: Portal, keys: list[str]) -> dict[str, tuple[str, str]]:
    names = parse_definition(DEFINITION).output_properties()
    objects = portal.objects["companies"]
    return {
        k: (
            objects[k].properties.get(names.score.name, ""),
            objects[k].properties.get(names.status.name, ""),
        )
        for k in keys
    }


@pytest.mark.soak  # ~40 s: the whole loop on DynamoDB Local; the use cases are in make test
def test_connect_sync_turn_on_and_changes_reach_the_portal(
    loop: tuple[LocalStack, str, Portal],
) -> None:
    local, url, portal = loop
    token = local.token(ACCOUNT)
    status, kept = call(f"{url}/local/hubspot-token", "POST", {"account": ACCOUNT, "token": TOKEN})
    assert status == 200, kept
    body = {"portal_id": "4470012", "token_parameter": kept["token_parameter"]}
    status, connected = call(f"{url}/integrations/hubspot", "PUT", body, token)
    assert status == 200, connected

    synced = local.hubspot_sync(ACCOUNT)  # what POST /local/hubspot-sync and the schedule run
    [first] = synced["accounts"]
    assert first["finished"] is True, first
    assert first["records"] >= COMPANIES
    local.drain(timeout=120, jobs=True)  # what POST /local/drain waits for

    status, created = call(f"{url}/definitions", "POST", _draft(), token)
    assert status == 201, created
    definition_id = created["id"]
    status, on = call(
        f"{url}/definitions/{definition_id}/turn-on?version={created['version']}",
        "POST",
        None,
        token,
    )
    assert status == 202, on
    local.drain(timeout=120, jobs=True)
    ours = stored(local, definition_id)
    assert len(ours) == COMPANIES
    assert in_portal(portal, sorted(ours)) == ours
    names = parse_definition(DEFINITION).output_properties()
    options = portal.properties["companies"][names.status.name]["options"]
    assert [o["label"] for o in options] == [t["label"] for t in reversed(DEFINITION["thresholds"])]

    before = dict(ours)
    portal.bodies.clear()
    for company in sorted(before)[:8]:
        portal.put("companies", company, {"nps_score": "0"}, datetime.now(UTC))
    status, synced = call(f"{url}/local/hubspot-sync", "POST", {"account": ACCOUNT})
    assert status == 200, synced
    # the eight changed here, and every company the write-back touched (HubSpot moves
    # hs_lastmodifieddate for those too): the portal's own changes are read back, ours ignored
    assert synced["accounts"][0]["records"] == COMPANIES
    local.drain(timeout=120, jobs=True)
    after = stored(local, definition_id)
    moved = [k for k in after if after[k] != before[k]]
    assert moved
    assert in_portal(portal, sorted(after)) == after
    updates = [1 for _m, path, *_ in portal.bodies if path.endswith("/batch/update")]
    assert 1 <= len(updates) <= math.ceil(len(moved) / 100) + 1  # a batch may close mid-flow


def _draft() -> dict[str, Any]:
    raw = {k: v for k, v in DEFINITION.items() if k not in ("id", "state")}
    return raw
