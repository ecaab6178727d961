"""API Gateway HTTP API (payload format 2.0) events, as AWS builds them for a Lambda proxy
integration: the local stack and the tests call the real handlers with these."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from healthscore.adapters.auth import gateway_claims


def gateway_event(
    method: str,
    path: str,
    claims: dict[str, Any] | None,
    body: Any = None,
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
    raw_query: str | None = None,
) -> dict[str, Any]:
    """`claims` None: no authorizer context (the route is public, or the call must be refused).
    `raw_query`: the query string as sent; repeated names are joined with commas, as API Gateway
    does."""
    if raw_query is not None:
        joined: dict[str, list[str]] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            joined.setdefault(name, []).append(value)
        query = {name: ",".join(values) for name, values in joined.items()}
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": "localhost",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "tests",
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": "$default",
        "stage": "$default",
        "time": "01/Jan/2026:00:00:00 +0000",
        "timeEpoch": 0,
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": gateway_claims(claims), "scopes": None}}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query if raw_query is not None else urlencode(query or {}),
        "queryStringParameters": {k: str(v) for k, v in (query or {}).items()} or None,
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": False,
    }


_KEPT = re.compile("%(2[fF]|23|3[fF])")  # / # ?


def decoded_path(path: str) -> str:
    """Percent-decoded once (UTF-8), except `/`, `#` and `?`, which stay encoded: decoded they
    would end a path segment (so an id holding one is stored with it encoded)."""
    return unquote(_KEPT.sub(lambda m: "%25" + m.group(0)[1:], path))


def with_decoded_path(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its path decoded (API Gateway passes it as the client sent it): a
    generated client's `custom%3Awidgets` or `jane%40acme.com` reaches the routes as
    `custom:widgets` and `jane@acme.com`."""
    decoded = dict(event)
    if isinstance(event.get("rawPath"), str):
        decoded["rawPath"] = decoded_path(event["rawPath"])
    context = event.get("requestContext")
    if isinstance(context, dict) and isinstance(context.get("http"), dict):
        http = {**context["http"]}
        if isinstance(http.get("path"), str):
            http["path"] = decoded_path(http["path"])
        decoded["requestContext"] = {**context, "http": http}
    return decoded
