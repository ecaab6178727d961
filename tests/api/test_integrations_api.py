"""PUT/GET/DELETE /integrations/hubspot: the token stays where it is kept (a reference is
checked, never the token sent), the portal is registered for webhook routing (and held by one
account only), live scores are pushed once on connect, viewers read but do not change."""

from __future__ import annotations

import json

import boto3

from tests.api.conftest import Stack
from tests.api.test_definitions_api import minimal

TOKENS = "/healthscore/hubspot-tokens"
BODY = {"portal_id": "4470012", "token_parameter": f"{TOKENS}/acme"}


def _ssm() -> object:
    return boto3.client("ssm", region_name="us-east-1")


def _store_token(name: str) -> None:
    _ssm().put_parameter(Name=name, Value="pat-na1-secret", Type="SecureString")  # type: ignore[attr-defined]


def _pushes(stack: Stack) -> list[dict[str, object]]:
    url = stack.settings.writeback_queue_url
    found = stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in found]


def test_connecting_checks_the_reference_registers_the_portal_and_pushes_live_scores(
    stack: Stack,
) -> None:
    admin = stack.admin("acme")
    missing = admin.put("/integrations/hubspot", BODY)
    assert missing.status == 400
    assert missing.body["errors"][0]["path"] == "token_parameter"
    assert "store the private app's token there first" in missing.body["message"]

    stack.store.put_live_definition("acme", "def_1", minimal(), 1)
    _store_token(f"{TOKENS}/acme")
    connected = admin.put("/integrations/hubspot", BODY)
    assert connected.status == 200, connected.body
    assert connected.body["portal_id"] == "4470012"
    assert connected.body["writeback"] is True
    assert "pat-" not in json.dumps(connected.body)
    portal = _ssm().get_parameter(Name="/healthscore/hubspot-app/portals/4470012")  # type: ignore[attr-defined]
    assert portal["Parameter"]["Value"] == "acme"
    assert _pushes(stack) == [{"account": "acme", "definition_id": "def_1", "all": True}]
    assert admin.put("/integrations/hubspot", BODY).status == 200
    assert _pushes(stack) == []  # the same connection again: nothing pushed twice

    viewer = stack.viewer("acme")
    assert viewer.get("/integrations/hubspot").body["token_parameter"] == f"{TOKENS}/acme"
    assert viewer.put("/integrations/hubspot", BODY).status == 403

    _store_token(f"{TOKENS}/other")
    taken = stack.admin("other").put(
        "/integrations/hubspot", {**BODY, "token_parameter": f"{TOKENS}/other"}
    )
    assert taken.status == 409
    assert "connected to another account" in taken.body["message"]

    assert admin.delete("/integrations/hubspot").status == 204
    assert admin.get("/integrations/hubspot").status == 404
    moved = stack.admin("other").put(
        "/integrations/hubspot", {**BODY, "token_parameter": f"{TOKENS}/other"}
    )
    assert moved.status == 200  # the portal is free again


def test_a_token_or_an_unreadable_place_is_refused_with_the_reason(stack: Stack) -> None:
    admin = stack.admin("acme")
    cases = {
        "pat-na1-0b6c1a9e-1b2f-4c55-9d0e-3f1a7c9b2e11": "looks like a token",
        "/elsewhere/acme": f"must be an SSM parameter under {TOKENS}/",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:other/x": "healthscore/hubspot/",
    }
    for reference, reason in cases.items():
        reply = admin.put("/integrations/hubspot", {**BODY, "token_parameter": reference})
        assert reply.status == 400, reference
        assert reason in reply.body["message"], reply.body
    bad_portal = admin.put("/integrations/hubspot", {**BODY, "portal_id": "acme"})
    assert bad_portal.status == 400
    assert bad_portal.body["errors"][0]["path"].endswith("portal_id")
