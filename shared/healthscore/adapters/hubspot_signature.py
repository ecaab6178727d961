"""HubSpot's v3 request signatures, exactly as HubSpot computes them.

`X-HubSpot-Signature-v3` = base64(HMAC-SHA256(secret, method + uri + raw body + timestamp)) with
`X-HubSpot-Request-Timestamp` in epoch milliseconds. Before signing, HubSpot decodes a fixed set
of percent-encoded characters in the URI (`%3A` → `:`, `%2F` → `/`, `%40` → `@`, …, any case of
hex); every other escape stays as sent. The verifier decodes the same set from the URI it was
called on, so a target URL with an encoded query verifies, and `signed_headers` (the demo's, the
tests' and `healthscore webhook send`'s signer) signs what HubSpot would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

SIGNATURE_MAX_AGE = timedelta(minutes=5)
SIGNATURE = "x-hubspot-signature-v3"
TIMESTAMP = "x-hubspot-request-timestamp"

# The escapes HubSpot decodes before signing (its "Validating requests" page), and no others.
_DECODED = {
    "3A": ":",
    "2F": "/",
    "3F": "?",
    "40": "@",
    "21": "!",
    "24": "$",
    "27": "'",
    "28": "(",
    "29": ")",
    "2A": "*",
    "2C": ",",
    "3B": ";",
}
_ESCAPE = re.compile("%(" + "|".join(_DECODED) + ")", re.IGNORECASE)


class SignatureRefused(Exception):
    """A request whose signature headers are missing, stale or wrong (HTTP 401)."""


def hubspot_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the listed escapes decoded, everything else untouched."""
    return _ESCAPE.sub(lambda m: _DECODED[m.group(1).upper()], uri)


def signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot v3: base64(HMAC-SHA256(secret, method + decoded uri + body + timestamp))."""
    message = method.upper().encode() + hubspot_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(secret: str, method: str, uri: str, body: bytes, at: datetime) -> dict[str, str]:
    """The headers a sender adds (the demo, tests and `healthscore webhook send` use this)."""
    timestamp = str(int(at.timestamp() * 1000))
    return {
        "X-HubSpot-Signature-v3": signature(secret, method, uri, body, timestamp),
        "X-HubSpot-Request-Timestamp": timestamp,
        "content-type": "application/json",
    }


def check_headers(headers: Mapping[str, str], now: datetime) -> tuple[str, str]:
    """The signature and timestamp, refused when missing or stale — before any secret is
    looked up, so unsigned or replayed requests cost nothing."""
    lowered = {k.lower(): v for k, v in headers.items()}
    given, timestamp = lowered.get(SIGNATURE), lowered.get(TIMESTAMP)
    if not given or not timestamp:
        raise SignatureRefused(
            "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp headers are required"
        )
    try:
        sent_at = datetime.fromtimestamp(int(timestamp) / 1000, UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise SignatureRefused("X-HubSpot-Request-Timestamp must be epoch milliseconds") from error
    if abs(now - sent_at) > SIGNATURE_MAX_AGE:
        raise SignatureRefused(
            "X-HubSpot-Request-Timestamp is more than 5 minutes away from now: sign again"
        )
    return given, timestamp


def verify(
    secret: str | None,
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
) -> None:
    """Refuse a missing, stale or wrong signature, compared in constant time. No secret (an
    unknown account) is refused with the same words as a wrong one: the reply never tells
    which accounts exist."""
    given, timestamp = check_headers(headers, now)
    expected = signature(secret or "", method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), given.encode()) or secret is None:
        raise SignatureRefused("X-HubSpot-Signature-v3 does not match the request")
