"""The webhook's secrets cache: found and missing names cached, SSM trouble never read as a
missing secret."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from healthscore.adapters.webhook_secrets import (
    FOUND_TTL,
    MISSING_TTL,
    SecretsUnavailable,
    WebhookSecrets,
)


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ssm():
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        client.put_parameter(Name="/w/acme", Value="s1", Type="SecureString")
        client.put_parameter(Name="/app/client-secret", Value="app", Type="SecureString")
        client.put_parameter(Name="/app/portals/111", Value="acme", Type="String")
        yield client


def test_found_and_missing_secrets_are_each_looked_up_once_per_ttl(ssm):
    ticks = Ticks()
    secrets = WebhookSecrets(ssm, "/w", "/app", clock=ticks)
    assert secrets.account_secret("acme") == "s1"
    assert secrets.app_secret() == "app"
    assert secrets.portal_account("111") == "acme"
    assert secrets.portal_account("222") is None
    for _ in range(50):  # a flood naming the same unknown account costs nothing more
        assert secrets.account_secret("nobody") is None
        assert secrets.account_secret("acme") == "s1"
    assert secrets.lookups == 5
    # a secret created for a new account is seen once the "missing" entry expires
    ssm.put_parameter(Name="/w/nobody", Value="s2", Type="SecureString")
    ticks.now += MISSING_TTL + 1
    assert secrets.account_secret("nobody") == "s2"
    assert secrets.account_secret("acme") == "s1"  # still cached
    assert secrets.lookups == 6
    # and a rotated secret takes effect once the found entry expires
    ssm.put_parameter(Name="/w/acme", Value="s3", Type="SecureString", Overwrite=True)
    ticks.now += FOUND_TTL
    assert secrets.account_secret("acme") == "s3"


def test_something_that_is_not_a_portal_id_is_never_looked_up(ssm):
    secrets = WebhookSecrets(ssm, "/w", "/app")
    assert secrets.portal_account("../w/acme") is None
    assert secrets.portal_account("1" * 30) is None
    assert secrets.lookups == 0


def test_throttling_is_unavailable_not_missing_and_is_not_cached():
    client = boto3.client(
        "ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    stubber.add_client_error("get_parameter", "ThrottlingException", "Rate exceeded", 400)
    stubber.add_response(
        "get_parameter",
        {"Parameter": {"Name": "/w/acme", "Value": "s1", "Type": "SecureString"}},
    )
    secrets = WebhookSecrets(client, "/w", "/app")
    with stubber:
        with pytest.raises(SecretsUnavailable, match="ThrottlingException"):
            secrets.account_secret("acme")
        assert secrets.account_secret("acme") == "s1"  # the next request asks again
    stubber.assert_no_pending_responses()
