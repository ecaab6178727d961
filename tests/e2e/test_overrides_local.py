"""Overrides on the local stack as deployed: set over HTTP, shown on the card, ended by the sweep
on its day after `healthscore clock advance`, with history entries naming who and why and exactly
one `Health status changed` per effective change (history stream → notify → EventBridge)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

from typer.testing import CliRunner

from healthscore.cli import app
from tests.builders import raw_property_score, self_rule
from tests.e2e.test_local_stack import call

SCORE = raw_property_score("Override health", ["seg-all"], self_rule("nps_score", "gte", 9, 80))


class Inbox:
    """An EventBridge rule that sends every event of some detail types into an SQS queue."""

    def __init__(self, local: Any, name: str, detail_types: list[str]) -> None:
        self.sqs, events = local.client("sqs"), local.client("events")
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        pattern = {"source": ["healthscore"], "detail-type": detail_types}
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule=name, Targets=[{"Id": "inbox", "Arn": arn["Attributes"]["QueueArn"]}]
        )

    def received(self, account: str, at_least: int) -> list[dict[str, Any]]:
        """What arrived for the account (the stack was drained: nothing more is on its way)."""
        got: list[dict[str, Any]] = []
        for _ in range(25):
            reply = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            got += [json.loads(m["Body"]) for m in messages]
            if not messages and len(got) >= at_least:
                break
            if not messages:
                time.sleep(0.2)
        return [e for e in got if e["detail"]["account_id"] == account]


def test_an_override_for_ten_days_ends_after_clock_advance_11d(served) -> None:
    local, url = served
    account = "overrides"
    token = local.token(account, user="ann@example.com")
    inbox = Inbox(local, "override-status", ["Health status changed"])
    segment = {"name": "All", "object_type": "companies"}
    assert call(f"{url}/segments/seg-all", "PUT", segment, token)[0] == 200
    assert (
        call(f"{url}/records/companies/a", "PUT", {"properties": {"nps_score": 3}}, token)[0] == 200
    )
    status, created = call(f"{url}/definitions", "POST", SCORE, token)
    assert status == 201, created
    did = created["id"]
    on = call(f"{url}/definitions/{did}/turn-on?version={created['version']}", "POST", None, token)
    assert on[0] == 202, on
    call(f"{url}/local/drain", "POST")
    card_path = f"{url}/definitions/{did}/records/companies/a"
    assert call(f"{card_path}/health", token=token)[1]["status"] == "At-risk"

    # Given an override to Healthy for 10 days, set by Ann with a reason
    now = datetime.fromisoformat(call(f"{url}/local/clock")[1]["now"])
    body = {
        "status": "Healthy",
        "reason": "Exec sponsor confirmed the renewal",
        "expires_at": (now + timedelta(days=10)).isoformat(),
    }
    status, card = call(f"{card_path}/override", "PUT", body, token)
    assert status == 200, card
    # Then the card shows it, beside the computed score
    card = call(f"{card_path}/health", token=token)[1]
    assert (card["status"], card["color"]) == ("Healthy", "#2e9d5b")
    assert (card["computed_score"], card["computed_status"]) == (0, "At-risk")
    assert card["override"]["set_by"] == "ann@example.com"
    assert card["next_change_day"] == (now + timedelta(days=10)).date().isoformat()

    # When the clock moves on 11 days (the CLI's `clock advance 11d` runs the sweep)
    result = CliRunner().invoke(app, ["clock", "advance", "11d", "--url", url])
    assert result.exit_code == 0, result.output
    assert "1 status changes" in result.output, result.output
    call(f"{url}/local/drain", "POST")

    # Then the status is the computed one again
    card = call(f"{card_path}/health", token=token)[1]
    assert (card["status"], card["override"], card.get("computed_score")) == (
        "At-risk",
        None,
        None,
    )
    # and history holds the set and the expiry, each naming who and why
    entries = call(f"{card_path}/history", token=token)[1]["entries"]
    overrides = [e for e in entries if "override" in e["cause"]]
    assert [(e["cause"]["override"].get("action"), e["status_after"]) for e in overrides] == [
        ("expired", "At-risk"),
        (None, "Healthy"),
    ]
    expired, set_ = overrides
    assert (set_["cause"]["action"], set_["cause"]["by"]) == ("set", "ann@example.com")
    assert expired["cause"]["override"]["set_by"] == "ann@example.com"
    assert "Exec sponsor confirmed the renewal" in expired["cause"]["summary"]
    assert "override expired" in expired["cause"]["summary"]
    # and exactly one status-change event per effective change
    details = [e["detail"] for e in inbox.received(account, at_least=2)]
    assert sorted((d["status_before"], d["status_after"], d["cause"]["kind"]) for d in details) == [
        ("At-risk", "Healthy", "override"),
        ("Healthy", "At-risk", "time"),
    ]
