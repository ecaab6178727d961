"""What every route shares: path and query parameters, the use cases (wired once per execution
environment), the caller, versions and instants."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query

from healthscore import bootstrap
from healthscore.adapters.auth import ClaimMap, caller_from_claims
from healthscore.domain.access import Caller
from healthscore.domain.errors import (
    InvalidRequest,
)
from healthscore.domain.values import parse_instant
from healthscore.settings import Settings

ObjectType = Annotated[
    str, Path(pattern=r"^(companies|contacts|deals|tickets|custom:[A-Za-z0-9_\-]{1,100})$")
]
Id = Annotated[str, Path(min_length=1, max_length=200)]
VersionQuery = Annotated[int | None, Query(ge=0, description="The version you read (or If-Match)")]
IfMatch = Annotated[str | None, Header(alias="if-match")]
AsOf = Annotated[str | None, Query(description="ISO-8601 instant with offset; default now")]
RevisionQuery = Annotated[Literal["draft", "live"], Query()]
JsonObject = Annotated[dict[str, Any], Body()]


@functools.cache
def use_cases() -> bootstrap.ApiUseCases:
    """Wired once per execution environment, on first use (settings from the environment)."""
    return bootstrap.api_use_cases(Settings.from_environment())


def caller(router: Router) -> Caller:
    """Who is calling, from the JWT authorizer's claims on the router's current request."""
    claims = router.current_event.request_context.authorizer.jwt_claim or {}
    return caller_from_claims(claims, claim_map())


@functools.cache
def claim_map() -> ClaimMap:
    """Which claims this deployment's identity provider uses (settings, read once)."""
    return ClaimMap.from_settings(Settings.from_environment())


def version_of(version: int | None, if_match: str | None) -> int | None:
    if version is not None:
        return version
    if if_match:
        text = if_match.strip().removeprefix("W/").strip('"')
        if text.isdigit():
            return int(text)
        raise InvalidRequest("If-Match", 'must be the version number you read, e.g. "3"')
    return None


def instant(as_of: str | None) -> datetime:
    if as_of is None:
        return use_cases().clock.now()
    moment = parse_instant(as_of)
    if moment is None:
        raise InvalidRequest("as_of", "must be ISO-8601 with an offset, e.g. 2026-06-15T12:00:00Z")
    return moment
