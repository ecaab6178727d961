"""Use cases for an account's HubSpot connection: connect (or change it), read, disconnect.

Connecting checks that the token reference names a parameter or secret that exists (the token
itself is never sent to the API, stored or shown), registers the portal so the webhook routes its
deliveries to this account (refused while another account holds it), and — when it writes back
— asks the write-back to push every live score's stored states once, so the portal shows the
scores from the start, not only those that change afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from healthscore.domain.access import Caller
from healthscore.domain.errors import InvalidRequest, NotFound
from healthscore.domain.integrations import HubSpotConnection, check_portal, check_reference
from healthscore.ports import HealthScoreStore
from healthscore.services.hubspot_push import push_all_message


class TokenReferences(Protocol):
    def exists(self, reference: str) -> bool: ...


class Portals(Protocol):
    def register(self, portal_id: str, account: str) -> None: ...

    def unregister(self, portal_id: str, account: str) -> None: ...


class Sender(Protocol):
    def send(self, messages: Sequence[str], delay: int = 0) -> None: ...


class Integrations:
    def __init__(
        self,
        store: HealthScoreStore,
        tokens: TokenReferences,
        portals: Portals,
        writeback: Sender,
        tokens_path: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store, self.tokens, self.portals, self.writeback = store, tokens, portals, writeback
        self.tokens_path, self.clock = tokens_path, clock

    def connect(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        caller.require_manage()
        account = caller.account_id
        portal_id, reference = str(body["portal_id"]), str(body["token_parameter"])
        check_portal(portal_id)
        check_reference(reference, self.tokens_path)
        if not self.tokens.exists(reference):
            where = "secret" if reference.startswith("arn:") else "SSM parameter"
            raise InvalidRequest(
                "token_parameter",
                f"no {where} {reference}: store the private app's token there first "
                f"(aws ssm put-parameter --type SecureString --name {reference} --value …)",
            )
        previous = self.store.hubspot_connection(account)
        self.portals.register(portal_id, account)
        if previous is not None and previous.portal_id != portal_id:
            self.portals.unregister(previous.portal_id, account)
        connection = HubSpotConnection(
            portal_id,
            reference,
            writeback=bool(body.get("writeback", True)),
            sync=bool(body.get("sync", True)),
            connected_by=caller.user_id,
            connected_at=self.clock().isoformat(),
        )
        if previous is not None and previous.portal_id == portal_id:
            connection = replace(connection, connected_at=previous.connected_at or "")
        self.store.save_hubspot_connection(account, connection)
        if connection.writeback and (
            previous is None or not previous.writeback or previous.portal_id != portal_id
        ):
            lives = self.store.live_definitions(account)
            self.writeback.send([push_all_message(account, d) for d, _rev, _raw in lives])
        return connection_view(connection)

    def get(self, caller: Caller) -> dict[str, Any]:
        connection = self.store.hubspot_connection(caller.account_id)
        if connection is None:
            raise NotFound("this account has no HubSpot connection: PUT /integrations/hubspot")
        return connection_view(connection)

    def disconnect(self, caller: Caller) -> None:
        caller.require_manage()
        connection = self.store.hubspot_connection(caller.account_id)
        if connection is None:
            raise NotFound("this account has no HubSpot connection")
        self.portals.unregister(connection.portal_id, caller.account_id)
        self.store.delete_hubspot_connection(caller.account_id)


def connection_view(connection: HubSpotConnection) -> dict[str, Any]:
    return connection.to_dict()
