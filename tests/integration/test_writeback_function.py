"""The write-back function's handler over an SQS batch: what HubSpot kept refusing and what is not
a write-back message are reported as batch item failures (SQS redelivers them, then the DLQ
keeps them); keys that met a held lease are sent again with a delay and reported done; the next
page of a full push is sent on; a queue that refuses the re-send fails the messages it came
from, so SQS brings those back instead."""

from __future__ import annotations

import json
from typing import Any

import pytest

from healthscore.dev.local_stack import LocalLambdaContext
from healthscore.services.hubspot_push import Pushed, Queued
from tests.api.client import load_function


class Sent:
    def __init__(self, refuse: bool = False) -> None:
        self.calls: list[tuple[list[str], int]] = []
        self.refuse = refuse

    def send(self, messages: list[str], delay: int = 0) -> None:
        if messages and self.refuse:
            raise RuntimeError("the queue refused")
        self.calls.append((list(messages), delay))


class Pusher:
    def __init__(self, outcome: Pushed) -> None:
        self.outcome = outcome
        self.seen: list[Queued] = []

    def push(self, queued: list[Queued]) -> Pushed:
        self.seen = list(queued)
        return self.outcome


def event(bodies: dict[str, str]) -> dict[str, Any]:
    return {"Records": [{"messageId": m, "body": b} for m, b in bodies.items()]}


def key(record: str) -> str:
    return json.dumps({"history": f"acme#def_1#companies#{record}"})


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "healthscore")
    return load_function("writeback")


def run(
    handler: Any, monkeypatch: pytest.MonkeyPatch, pushed: Pushed, queue: Sent
) -> tuple[Any, Pusher]:
    pusher = Pusher(pushed)
    monkeypatch.setattr(handler, "pusher", lambda: pusher)
    monkeypatch.setattr(handler, "queue", lambda: queue)
    bodies = {"m1": key("1"), "m2": key("2"), "m3": key("3"), "bad": "{not json"}
    return handler.lambda_handler(event(bodies), LocalLambdaContext()), pusher


def test_failures_are_reported_deferred_keys_sent_again_later(
    handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    follow = json.dumps({"account": "acme", "definition_id": "def_1", "all": True})
    pushed = Pushed(done={"m1"}, deferred={"m2"}, failed={"m3"}, follow_ups=[("m1", follow)])
    queue = Sent()
    result, pusher = run(handler, monkeypatch, pushed, queue)
    assert [q.message_id for q in pusher.seen] == ["m1", "m2", "m3"]
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    assert failed == {"m3", "bad"}
    assert queue.calls == [([key("2")], handler.DEFER_SECONDS), ([follow], 0)]


def test_a_refused_resend_fails_the_messages_it_came_from(
    handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    follow = json.dumps({"account": "acme", "definition_id": "def_1", "all": True})
    pushed = Pushed(done={"m1", "m3"}, deferred={"m2"}, follow_ups=[("m1", follow)])
    result, _pusher = run(handler, monkeypatch, pushed, Sent(refuse=True))
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    assert failed == {"m1", "m2", "bad"}
