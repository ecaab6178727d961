"""Tokens as real identity providers shape them: RS256 JWTs minted the way Cognito (ID and access
tokens), Auth0 (namespaced claims) and a plain OIDC provider issue them, verified as API
Gateway's JWT authorizer does, and their claims handed to the API as the authorizer passes them
(strings; arrays as "[a b]")."""

from __future__ import annotations

import importlib
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.api.client import ApiClient
from tests.api.conftest import Stack
from tests.api.test_definitions_api import SEGMENT

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
MANAGE = "manage_customer_success_settings"
AUTH0_NAMESPACE = "https://healthscore.example.com/"


def _verified(claims: dict[str, Any], issuer: str, audience: str) -> dict[str, Any]:
    """Mint an RS256 token with the claims, then verify it as the JWT authorizer would."""
    now = int(time.time())
    token = jwt.encode(
        {"iss": issuer, "aud": audience, "iat": now, "exp": now + 600, **claims},
        KEY,
        algorithm="RS256",
        headers={"kid": "test-key"},
    )
    return jwt.decode(token, KEY.public_key(), algorithms=["RS256"], audience=audience)


COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
SHAPES: list[tuple[str, dict[str, Any], int, int]] = [
    # name, claims, GET /definitions, PUT /segments/… (manage)
    (
        "cognito id token: custom: attributes, permissions JSON-encoded, plan capitalised",
        {
            "sub": "3f1c",
            "token_use": "id",
            "cognito:username": "jane",
            "custom:account_id": "acme",
            "custom:permissions": f'["{MANAGE}"]',
            "custom:seats": "service",
            "custom:plan": "Enterprise",
        },
        200,
        200,
    ),
    (
        "cognito access token: the permission as a resource-server scope",
        {
            "sub": "3f1c",
            "token_use": "access",
            "client_id": "abc",
            "scope": f"openid https://api.healthscore.example/{MANAGE}",
            "account_id": "acme",
            "seats": ["service"],
        },
        200,
        200,
    ),
    (
        "auth0 access token: namespaced claims, permissions as a list",
        {
            "sub": "auth0|42",
            "scope": "openid profile",
            f"{AUTH0_NAMESPACE}account_id": "acme",
            "permissions": [MANAGE],
            f"{AUTH0_NAMESPACE}seats": ["service"],
        },
        200,
        200,
    ),
    (
        "plain oidc token, comma-separated text: a viewer",
        {"sub": "u1", "account_id": "acme", "permissions": "read,write"},
        200,
        403,
    ),
    ("no account claim", {"sub": "u1", "permissions": [MANAGE]}, 401, 401),
    ("an account id that is not one", {"sub": "u1", "account_id": "acme corp"}, 403, 403),
    (
        "a plan that does not exist",
        {"sub": "u1", "account_id": "acme", "plan": "Platinum", "permissions": [MANAGE]},
        403,
        403,
    ),
]


@pytest.fixture
def auth0_namespace(monkeypatch: pytest.MonkeyPatch, stack: Stack) -> Stack:
    monkeypatch.setenv("CLAIM_NAMESPACE", AUTH0_NAMESPACE)
    common = importlib.import_module("api_routes.common")
    common.claim_map.cache_clear()
    yield stack
    common.claim_map.cache_clear()


@pytest.mark.parametrize(
    ("shape", "claims", "reads", "manages"), SHAPES, ids=[s[0] for s in SHAPES]
)
def test_each_providers_token_shape_gets_the_access_it_carries(
    auth0_namespace: Stack, shape: str, claims: dict[str, Any], reads: int, manages: int
) -> None:
    caller = ApiClient(auth0_namespace.api, _verified(claims, COGNITO, "abc"))
    listed = caller.get("/definitions")
    assert listed.status == reads, (shape, listed.body)
    saved = caller.put("/segments/seg-all", SEGMENT)
    assert saved.status == manages, (shape, saved.body)
    if reads >= 400:  # a refusal says why
        assert listed.body["message"]
    if shape == "a plan that does not exist":
        assert "Platinum" in listed.body["message"]
        assert "enterprise" in listed.body["message"]


def test_the_claims_become_the_caller_the_provider_meant() -> None:
    from healthscore.adapters.auth import ClaimMap, caller_from_claims, gateway_claims
    from healthscore.domain.plans import Plan

    cognito = _verified(SHAPES[0][1], COGNITO, "abc")
    caller = caller_from_claims(gateway_claims(cognito))
    assert (caller.account_id, caller.plan, caller.seats) == ("acme", Plan.ENTERPRISE, {"service"})
    assert MANAGE in caller.permissions
    auth0 = gateway_claims(_verified(SHAPES[2][1], COGNITO, "abc"))
    assert caller_from_claims(auth0, ClaimMap(namespace=AUTH0_NAMESPACE)).account_id == "acme"
    # a deployment whose provider calls them differently says so in its settings
    renamed = {"sub": "u", "tenant": "globex", "roles": f"[{MANAGE} other]"}
    mapped = caller_from_claims(renamed, ClaimMap(account="tenant", permissions="roles"))
    assert (mapped.account_id, MANAGE in mapped.permissions) == ("globex", True)
