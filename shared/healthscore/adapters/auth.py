"""Who is calling: the claims API Gateway's JWT authorizer passes on, and the signed dev tokens
the local stack issues with the same claims.

Claims read (all strings, as API Gateway HTTP APIs pass them; arrays arrive as "[a b]"):
- `account_id` — the tenant; every key the caller can reach starts with it;
- `sub` — the user;
- `permissions` — e.g. `manage_customer_success_settings`;
- `seats` — e.g. `service`;
- `plan` — `professional` (default) or `enterprise`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from healthscore.domain.access import (
    MANAGE_PERMISSION,
    SERVICE_SEAT,
    Caller,
)
from healthscore.domain.errors import Forbidden
from healthscore.domain.plans import Plan

DEV_ISSUER = "healthscore-local"
DEV_AUDIENCE = "healthscore-api"
_ACCOUNT = re.compile(r"[A-Za-z0-9_\-]{1,64}")


class Unauthenticated(Exception):
    """401: no usable identity in the request."""


def claim_list(value: Any) -> frozenset[str]:
    """`["a","b"]`, `"[a b]"` (API Gateway's rendering of a JWT array) or `"a b"` / `"a,b"`."""
    if value is None:
        return frozenset()
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(str(v) for v in value)
    text = str(value).strip().removeprefix("[").removesuffix("]")
    return frozenset(part for part in re.split(r"[\s,]+", text) if part)


def caller_from_claims(claims: Mapping[str, Any]) -> Caller:
    account = claims.get("account_id")
    if not isinstance(account, str) or not account:
        raise Unauthenticated("the token carries no account_id claim")
    if not _ACCOUNT.fullmatch(account):
        raise Forbidden("the token's account_id is not a valid account id")
    plan_text = str(claims.get("plan") or Plan.PROFESSIONAL.value)
    try:
        plan = Plan(plan_text)
    except ValueError:
        plan = Plan.PROFESSIONAL
    return Caller(
        account_id=account,
        user_id=str(claims.get("sub") or "unknown"),
        permissions=claim_list(claims.get("permissions")),
        seats=claim_list(claims.get("seats")),
        plan=plan,
    )


def dev_claims(
    account_id: str,
    user: str = "dev@localhost",
    *,
    manage: bool = True,
    plan: Plan = Plan.PROFESSIONAL,
) -> dict[str, Any]:
    """Claims for a local dev token: an admin with a Service seat unless `manage` is False."""
    return {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": user,
        "account_id": account_id,
        "permissions": [MANAGE_PERMISSION] if manage else [],
        "seats": [SERVICE_SEAT] if manage else [],
        "plan": plan.value,
    }


def sign_dev_token(claims: Mapping[str, Any], secret: str) -> str:
    import jwt  # the local extra; never needed on AWS, where API Gateway verifies tokens

    return jwt.encode(dict(claims), secret, algorithm="HS256")


def verify_dev_token(token: str, secret: str) -> dict[str, Any]:
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], audience=DEV_AUDIENCE, issuer=DEV_ISSUER
        )
    except jwt.PyJWTError as error:
        raise Unauthenticated(f"the bearer token is not valid: {error}") from error
    return claims


def gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway hands them to the function: strings, arrays as "[a b]"."""
    return {
        name: f"[{' '.join(str(v) for v in value)}]" if isinstance(value, list) else str(value)
        for name, value in claims.items()
    }
