"""`Health status changed` events on EventBridge, so workflows can act (e.g. tell the CSM when a
company turns At-risk)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from healthscore.adapters.aws_clients import client
from healthscore.domain.score_state import InputStale, StatusChange
from healthscore.settings import Settings

SOURCE = "healthscore"
DETAIL_TYPE = "Health status changed"
STALE_DETAIL_TYPE = "Health input stale"
PUT_EVENTS_BATCH = 10
ATTEMPTS = 3


class EventBridgePublisher:
    def __init__(self, settings: Settings, events: Any = None) -> None:
        self.bus = settings.event_bus_name
        self.events = events if events is not None else client("events", settings)

    def publish(self, changes: Sequence[StatusChange | InputStale]) -> None:
        for start in range(0, len(changes), PUT_EVENTS_BATCH):
            entries = [
                {
                    "Source": SOURCE,
                    "DetailType": (
                        STALE_DETAIL_TYPE if isinstance(change, InputStale) else DETAIL_TYPE
                    ),
                    "Detail": json.dumps(change.detail()),
                    "EventBusName": self.bus,
                    "Resources": [],
                }
                for change in changes[start : start + PUT_EVENTS_BATCH]
            ]
            for _attempt in range(ATTEMPTS):
                reply = self.events.put_events(Entries=entries)
                if not reply.get("FailedEntryCount"):
                    break
                entries = [
                    entry
                    for entry, result in zip(entries, reply["Entries"], strict=True)
                    if result.get("ErrorCode")
                ]
            else:
                raise RuntimeError(f"EventBridge refused {len(entries)} status change events")
