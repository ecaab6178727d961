"""Page cursors: the last key of a page, opaque to the client, and refused unless it points into
the caller's own items."""

from __future__ import annotations

import base64
import json
from typing import Any

from healthscore.domain.errors import InvalidRequest


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def decode_cursor(cursor: str | None, pk: str) -> dict[str, Any] | None:
    """A cursor from a previous page of the items under `pk`; anything else — another
    record's, another account's, or one made up — is refused."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as error:
        raise InvalidRequest("cursor", "is not a cursor this API returned") from error
    if not (
        isinstance(key, dict)
        and set(key) == {"pk", "sk"}
        and key["pk"] == {"S": pk}
        and isinstance(key["sk"], dict)
        and set(key["sk"]) == {"S"}
        and isinstance(key["sk"]["S"], str)
        and 0 < len(key["sk"]["S"]) <= 1024
    ):
        raise InvalidRequest("cursor", "is not a cursor this API returned")
    return dict(key)
