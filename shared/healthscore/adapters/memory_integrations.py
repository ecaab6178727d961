"""`healthscore.ports.IntegrationStore` in memory (mixed into `MemoryStore`); the contract tests
hold it to the DynamoDB one."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from healthscore.domain.integrations import HubSpotConnection


class MemoryIntegrations:
    def __init__(self) -> None:
        self._integrations_lock = threading.Lock()
        self._connections: dict[str, HubSpotConnection] = {}
        self._checkpoints: dict[str, dict[str, Any]] = {}
        self._leases: dict[tuple[str, str], tuple[str, float]] = {}

    def hubspot_connection(self, account: str) -> HubSpotConnection | None:
        with self._integrations_lock:
            return self._connections.get(account)

    def save_hubspot_connection(self, account: str, connection: HubSpotConnection) -> None:
        with self._integrations_lock:
            self._connections[account] = connection

    def delete_hubspot_connection(self, account: str) -> None:
        with self._integrations_lock:
            self._connections.pop(account, None)
            self._checkpoints.pop(account, None)

    def hubspot_accounts(self) -> list[str]:
        with self._integrations_lock:
            return sorted(self._connections)

    def sync_checkpoint(self, account: str) -> dict[str, Any]:
        with self._integrations_lock:
            return dict(self._checkpoints.get(account, {}))

    def save_sync_checkpoint(self, account: str, checkpoint: Mapping[str, Any]) -> None:
        with self._integrations_lock:
            self._checkpoints[account] = dict(checkpoint)

    def take_lease(self, account: str, name: str, holder: str, seconds: float) -> bool:
        now = time.time()
        with self._integrations_lock:
            held = self._leases.get((account, name))
            if held is not None and held[0] != holder and held[1] > now:
                return False
            self._leases[(account, name)] = (holder, now + seconds)
            return True

    def release_lease(self, account: str, name: str, holder: str) -> None:
        with self._integrations_lock:
            held = self._leases.get((account, name))
            if held is not None and held[0] == holder:
                del self._leases[(account, name)]
