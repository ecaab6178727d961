"""An account's HubSpot connection, sync checkpoint and leases, in the jobs table:

- `(account, #integration#hubspot)`: the connection (portal, token reference, what it does);
- `(#integrations, hubspot#<account>)`: the registry the scheduled sync queries (one query, not a
  scan of every account's jobs);
- `(account, #sync#hubspot)`: the sync's checkpoint (what it fetched up to, per object type);
- `(account, #lease#<name>)`: a lease, its `status` naming the holder, held until `expires_at`
  (a conditional put takes it; an expired one is taken over, so a function that died holding it
  delays the next holder, never blocks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from healthscore.adapters.dynamo_tables import Tables
from healthscore.domain.integrations import HubSpotConnection

CONNECTION = "#integration#hubspot"
REGISTRY = "#integrations"
CHECKPOINT = "#sync#hubspot"


class DynamoIntegrations:
    """Implements `healthscore.ports.IntegrationStore` (mixed into `DynamoStore`)."""

    tables: Tables

    def hubspot_connection(self, account: str) -> HubSpotConnection | None:
        item = self._item(account, CONNECTION)
        return None if item is None else HubSpotConnection.from_dict(item.detail)

    def save_hubspot_connection(self, account: str, connection: HubSpotConnection) -> None:
        at = datetime.now(UTC)
        jobs = self.tables.jobs
        with self.tables.jobs.batch_write() as batch:
            batch.save(
                jobs(
                    account,
                    CONNECTION,
                    kind="integration",
                    status="connected",
                    detail=connection.to_dict(),
                    created_at=at,
                    updated_at=at,
                )
            )
            batch.save(
                jobs(
                    REGISTRY,
                    f"hubspot#{account}",
                    kind="integration",
                    status="connected",
                    detail={"portal_id": connection.portal_id},
                    created_at=at,
                    updated_at=at,
                )
            )

    def delete_hubspot_connection(self, account: str) -> None:
        jobs = self.tables.jobs
        with jobs.batch_write() as batch:
            for pk, sk in (
                (account, CONNECTION),
                (REGISTRY, f"hubspot#{account}"),
                (account, CHECKPOINT),
            ):
                batch.delete(
                    jobs(
                        pk,
                        sk,
                        kind="",
                        status="",
                        created_at=datetime.now(UTC),
                        updated_at=datetime.now(UTC),
                    )
                )

    def hubspot_accounts(self) -> list[str]:
        return [
            item.sk.removeprefix("hubspot#")
            for item in self.tables.jobs.query(REGISTRY, self.tables.jobs.sk.startswith("hubspot#"))
        ]

    def sync_checkpoint(self, account: str) -> dict[str, Any]:
        item = self._item(account, CHECKPOINT)
        return {} if item is None else dict(item.detail)

    def save_sync_checkpoint(self, account: str, checkpoint: Mapping[str, Any]) -> None:
        at = datetime.now(UTC)
        self.tables.jobs(
            account,
            CHECKPOINT,
            kind="checkpoint",
            status="running",
            detail=dict(checkpoint),
            created_at=at,
            updated_at=at,
        ).save()

    def take_lease(self, account: str, name: str, holder: str, seconds: float) -> bool:
        jobs = self.tables.jobs
        now = datetime.now(UTC)
        item = jobs(
            account,
            f"#lease#{name}",
            kind="lease",
            status=holder,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(seconds=seconds),
        )
        free = jobs.pk.does_not_exist() | (jobs.expires_at < now) | (jobs.status == holder)
        try:
            item.save(condition=free)
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_lease(self, account: str, name: str, holder: str) -> None:
        jobs = self.tables.jobs
        now = datetime.now(UTC)
        item = jobs(
            account, f"#lease#{name}", kind="lease", status="", created_at=now, updated_at=now
        )
        try:
            item.delete(condition=jobs.status == holder)
        except DeleteError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise  # else: it expired and someone else holds it now; theirs to release

    def _item(self, pk: str, sk: str) -> Any:
        try:
            return self.tables.jobs.get(pk, sk, consistent_read=True)
        except self.tables.jobs.DoesNotExist:
            return None
