"""The sync function's handler: every connected account (or the one the event names) is synced
and reported; an account whose HubSpot refuses is reported with the reason and the others go
on; an account without a connection is passed over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from healthscore.adapters.hubspot_errors import HubSpotUnavailable
from healthscore.adapters.memory_store import MemoryStore
from healthscore.dev.local_resources import LongLambdaContext
from healthscore.domain.integrations import HubSpotConnection
from tests.api.client import load_function
from tests.integration.conftest import DEFINITION, Fake


class Queue:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def send(self, messages: list[str], delay: int = 0) -> None:
        self.messages.extend(messages)


def test_each_connected_account_is_synced_and_a_refusal_reported(
    fake: Fake, portfolio: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "healthscore")
    store, queue = MemoryStore(), Queue()
    for account, portal in (("good", "1"), ("refused", "2")):
        for line in (portfolio / "segments.jsonl").read_text().splitlines():
            store.put_segment(account, json.loads(line))
        store.put_live_definition(account, "d1", json.loads(DEFINITION.read_text()), 1)
        store.save_hubspot_connection(account, HubSpotConnection(portal, f"/t/{account}"))

    def crm_for(connection: HubSpotConnection) -> Any:
        if connection.portal_id == "2":
            raise HubSpotUnavailable(
                "the portal's token cannot be read: /t/refused: ParameterNotFound"
            )
        return fake.crm()

    sync = load_function("sync")
    monkeypatch.setattr(sync, "wiring", lambda: (store, crm_for, queue))
    report = sync.lambda_handler({"source": "aws.scheduler"}, LongLambdaContext())["accounts"]
    by_account = {r["account"]: r for r in report}
    assert by_account["good"]["finished"] is True
    assert by_account["good"]["records"] > 0
    assert "ParameterNotFound" in by_account["refused"]["error"]
    assert len(queue.messages) > by_account["good"]["records"]  # records, links, events
    one = sync.lambda_handler({"account": "good"}, LongLambdaContext())["accounts"]
    assert [r["account"] for r in one] == ["good"]
    assert one[0]["incremental"] is True
    assert sync.lambda_handler({"account": "nobody"}, LongLambdaContext()) == {"accounts": []}
