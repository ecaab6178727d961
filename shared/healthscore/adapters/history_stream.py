"""The history table's stream as the outbox of `Health status changed`: every history entry is
written in the same transaction as the score state it records, so the stream holds exactly the
status changes that were committed — none lost when a function stops between commit and
publish, none invented by a redelivered change (a duplicate commits nothing)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from healthscore.adapters.dynamo_tables import split_key
from healthscore.domain.score_state import (
    InputStale,
    StatusChange,
    inputs_gone_stale,
    status_change,
)


def status_change_of(image: Mapping[str, Any]) -> StatusChange | None:
    """The status change a new history item records (None: the score moved, the status not;
    or a recompute moved it — turning a score on or publishing a revision re-rates the whole
    portfolio, which is a job report, not one event per record).

    `image` is the item as the stream's NEW_IMAGE, deserialized: `pk` =
    account#definition#type#id, `sk` = when#sequence, `entry` = the entry as JSON text."""
    account, definition_id, object_type, record_id = split_key(str(image["pk"]))
    raw = image["entry"]
    entry = json.loads(raw) if isinstance(raw, str) else dict(raw)
    if (entry.get("cause") or {}).get("kind") == "recompute":
        return None
    change = status_change(account, definition_id, (object_type, record_id), entry)
    if change is None:
        return None
    return replace(change, id=f"{image['pk']}/{image['sk']}")


def stale_inputs_of(image: Mapping[str, Any]) -> list[InputStale]:
    """`Health input stale` for each input a new history item says went stale (none for a
    recompute: turning a score on finds what was already stale, it does not announce it)."""
    account, definition_id, object_type, record_id = split_key(str(image["pk"]))
    raw = image["entry"]
    entry = json.loads(raw) if isinstance(raw, str) else dict(raw)
    if (entry.get("cause") or {}).get("kind") == "recompute":
        return []
    entry_id = f"{image['pk']}/{image['sk']}"
    return inputs_gone_stale(account, definition_id, (object_type, record_id), entry, entry_id)
