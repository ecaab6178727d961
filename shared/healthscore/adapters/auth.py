"""Who is calling: the claims API Gateway's JWT authorizer passes on (from Cognito, Auth0 or any
OIDC provider), and the signed dev tokens the local stack issues with the same claims.

Which claims are read is configuration (`ClaimMap`, from Settings: ACCOUNT_CLAIM,
PERMISSIONS_CLAIM, SEATS_CLAIM, PLAN_CLAIM, CLAIM_NAMESPACE); each name is looked for as it is,
with Cognito's `custom:` prefix, and under the namespace (Auth0: `https://example.com/account_id`):
- the account (default `account_id`) — the tenant; every key the caller can reach starts with it;
- `sub` — the user;
- permissions (default `permissions`), plus every entry of `scope` (a resource server's
  `https://api.example.com/manage_customer_success_settings` counts by its last segment);
- seats (default `seats`) — e.g. `service`;
- the plan (default `plan`) — `professional` (when absent) or `enterprise`, any case; any other
  value is refused (403), never silently downgraded.
Lists arrive as JSON arrays, as API Gateway's rendering "[a b]", as JSON-encoded text
('["a","b"]', what Cognito's pre-token trigger can emit), or space/comma-separated text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from healthscore.domain.access import (
    MANAGE_PERMISSION,
    SERVICE_SEAT,
    Caller,
)
from healthscore.domain.errors import Forbidden
from healthscore.domain.plans import Plan
from healthscore.settings import Settings

DEV_ISSUER = "healthscore-local"
DEV_AUDIENCE = "healthscore-api"
_ACCOUNT = re.compile(r"[A-Za-z0-9_\-]{1,64}")


class Unauthenticated(Exception):
    """401: no usable identity in the request."""


def claim_list(value: Any) -> frozenset[str]:
    """A list claim in any of the shapes providers and API Gateway emit (see the module)."""
    if value is None:
        return frozenset()
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(str(v) for v in value)
    text = str(value).strip()
    if text.startswith("[") and '"' in text:
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, list):
            return frozenset(str(v) for v in decoded)
    text = text.removeprefix("[").removesuffix("]")
    return frozenset(part.strip('"') for part in re.split(r"[\s,]+", text) if part.strip('"'))


@dataclass(frozen=True)
class ClaimMap:
    """Where a deployment's identity provider puts the account, permissions, seats and plan."""

    account: str = "account_id"
    permissions: str = "permissions"
    seats: str = "seats"
    plan: str = "plan"
    namespace: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ClaimMap:
        return cls(
            settings.account_claim,
            settings.permissions_claim,
            settings.seats_claim,
            settings.plan_claim,
            settings.claim_namespace,
        )

    def find(self, claims: Mapping[str, Any], name: str) -> Any:
        """The claim's value under its name, `custom:` + name, or the namespace + name."""
        for candidate in (
            name,
            f"custom:{name}",
            f"{self.namespace}{name}" if self.namespace else "",
        ):
            if candidate and claims.get(candidate) not in (None, ""):
                return claims[candidate]
        return None


def caller_from_claims(claims: Mapping[str, Any], mapping: ClaimMap | None = None) -> Caller:
    mapping = mapping or ClaimMap()
    account = mapping.find(claims, mapping.account)
    if not isinstance(account, str) or not account:
        raise Unauthenticated(f"the token carries no {mapping.account} claim (the account)")
    if not _ACCOUNT.fullmatch(account):
        raise Forbidden(f"the token's {mapping.account} is not a valid account id")
    plan_value = mapping.find(claims, mapping.plan)
    plan_text = str(plan_value or Plan.PROFESSIONAL.value).strip().lower()
    try:
        plan = Plan(plan_text)
    except ValueError as error:
        known = ", ".join(p.value for p in Plan)
        raise Forbidden(
            f"the token's {mapping.plan} claim {str(plan_value)[:40]!r} is not a plan ({known})"
        ) from error
    scopes = claim_list(claims.get("scope"))
    return Caller(
        account_id=account,
        user_id=str(claims.get("sub") or "unknown"),
        permissions=claim_list(mapping.find(claims, mapping.permissions))
        | {scope.rsplit("/", 1)[-1] for scope in scopes},
        seats=claim_list(mapping.find(claims, mapping.seats)),
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
