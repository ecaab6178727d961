"""What is refused before any route runs, in this order: no account in the token (401), a change
without the manage permission (403), a body that is not JSON (415), too big (413) or nested too
deep (400). Nothing of the body is parsed before the caller may send it."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from healthscore.adapters.auth import ClaimMap, Unauthenticated, caller_from_claims
from healthscore.domain.errors import Forbidden

OPEN_PATHS = frozenset({"/openapi.json", "/docs"})
# Routes that change nothing although they are POSTs: testing a record reads only.
READ_ONLY = re.compile(r"^/definitions/[^/]+/test$")
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_DEPTH = 32
KB = 1024
# A definition keeps a draft and a live revision in one item, a segment and a record one each:
# every stored item stays well under DynamoDB's 400 KB.
BODY_LIMITS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^/definitions"), 128 * KB),
    (re.compile(r"^/segments/"), 128 * KB),
    (re.compile(r"^/records/"), 256 * KB),
    (re.compile(r"^/events$"), 1024 * KB),
)
DEFAULT_LIMIT = 64 * KB


class Refusal(Exception):
    def __init__(self, status: int, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.path = status, message, path


def check_request(event: dict[str, Any], claim_map: Callable[[], ClaimMap]) -> None:
    """Raise `Refusal` for a request no route should see."""
    path = event.get("rawPath") or "/"
    method = (event.get("requestContext", {}).get("http", {}).get("method") or "GET").upper()
    if path in OPEN_PATHS:
        return
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}
    try:
        caller = caller_from_claims(claims.get("claims") or {}, claim_map())
        if method in CHANGES and not READ_ONLY.match(path):
            caller.require_manage()
    except Unauthenticated as error:
        raise Refusal(401, str(error)) from error
    except Forbidden as error:
        raise Refusal(403, str(error)) from error
    body = body_bytes(event)
    content_type = {k.lower(): v for k, v in (event.get("headers") or {}).items()}.get(
        "content-type", "application/json"
    )
    if body and "json" not in content_type.lower():
        raise Refusal(
            415, f"send the body as JSON with content-type: application/json, not {content_type}"
        )
    limit = next((n for pattern, n in BODY_LIMITS if pattern.match(path)), DEFAULT_LIMIT)
    if len(body) > limit:
        raise Refusal(
            413,
            f"the body is {len(body):,} bytes; this route takes at most {limit:,} "
            f"({limit // KB} KB)",
            "body",
        )
    depth = nesting_depth(body)
    if depth > MAX_DEPTH:
        raise Refusal(400, f"is nested {depth} levels deep; at most {MAX_DEPTH}", "body")


def body_bytes(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError as error:
            raise Refusal(400, "is not valid base64", "body") from error
    return body.encode() if isinstance(body, str) else bytes(body)


def nesting_depth(text: bytes) -> int:
    """How deep JSON arrays and objects nest, brackets inside strings excepted; stops counting
    past the limit (a body is never parsed to find out)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest
