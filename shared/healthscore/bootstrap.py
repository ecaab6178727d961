"""The composition root: settings → clients → stores → use cases, wired in one place for every
Lambda handler, the CLI and the local stack. Nothing here runs at import time; each handler
builds what it needs once per execution environment (cold start) and keeps it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from healthscore.adapters.aws_clients import client
from healthscore.adapters.change_queue import SqsChangeQueue
from healthscore.adapters.clock import Clock
from healthscore.adapters.dataset_export import ExportStorage, LocalExports, S3Exports
from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.adapters.event_bus import EventBridgePublisher
from healthscore.adapters.hubspot_errors import HubSpotUnavailable
from healthscore.adapters.hubspot_tokens import HubSpotTokens, PortalRegistry, TokenMissing
from healthscore.adapters.job_queue import SqsJobStarter
from healthscore.adapters.webhook_secrets import WebhookSecrets
from healthscore.domain.integrations import HubSpotConnection
from healthscore.ports import HealthScoreStore
from healthscore.services.definitions import Definitions
from healthscore.services.exports import Exports
from healthscore.services.hubspot_push import Pusher
from healthscore.services.incremental import IncrementalScorer
from healthscore.services.integrations import Integrations
from healthscore.services.overrides import Overrides
from healthscore.services.records import Records
from healthscore.services.score_views import ScoreViews
from healthscore.services.segments import Segments
from healthscore.services.sweep import Sweep
from healthscore.services.trends import Trends
from healthscore.settings import Settings

if TYPE_CHECKING:
    from healthscore.adapters.hubspot_crm import HubSpotCrm


@dataclass(frozen=True)
class ApiUseCases:
    """What the HTTP API calls: one use case object per resource."""

    segments: Segments
    definitions: Definitions
    records: Records
    views: ScoreViews
    clock: Clock
    integrations: Integrations
    overrides: Overrides
    exports: Exports
    trends: Trends


def store(settings: Settings) -> DynamoStore:
    return DynamoStore(Tables.bind(settings))


def clock(settings: Settings) -> Clock:
    """The scoring clock (locally: offset by `healthscore clock advance`)."""
    return Clock(settings.clock_file)


def incremental_scorer(settings: Settings) -> IncrementalScorer:
    """The scorer publishes nothing itself: its history entries reach EventBridge through the
    history table's stream (functions/notify), so a crash after a commit loses nothing."""
    return IncrementalScorer(store(settings), clock=clock(settings).now)


def sweep(settings: Settings) -> Sweep:
    return Sweep(store(settings), clock=clock(settings).now)


def status_publisher(settings: Settings) -> EventBridgePublisher:
    """`Health status changed` onto the account's bus (functions/notify)."""
    return EventBridgePublisher(settings)


def change_queue(settings: Settings) -> SqsChangeQueue:
    return SqsChangeQueue(settings)


def writeback_queue(settings: Settings) -> SqsChangeQueue:
    """Records to push to HubSpot (functions/writeback), and "push all" pages."""
    return SqsChangeQueue(settings, queue_url=settings.writeback_queue_url)


def hubspot_tokens(settings: Settings) -> HubSpotTokens:
    return HubSpotTokens(client("ssm", settings), client("secretsmanager", settings))


def portal_registry(settings: Settings) -> PortalRegistry:
    return PortalRegistry(client("ssm", settings), settings.hubspot_app_path)


def hubspot_clients(settings: Settings) -> Callable[[HubSpotConnection], HubSpotCrm]:
    """One SDK client per connected portal, kept for the execution environment (so its request
    pace holds across invocations); the token read from the account's reference."""
    from healthscore.adapters.hubspot_crm import HubSpotCrm

    tokens = hubspot_tokens(settings)
    kept: dict[tuple[str, str], tuple[str, HubSpotCrm]] = {}

    def crm_for(connection: HubSpotConnection) -> HubSpotCrm:
        try:
            token = tokens.token(connection.token_parameter)
        except TokenMissing as error:
            raise HubSpotUnavailable(f"the portal's token cannot be read: {error}") from error
        key = (connection.portal_id, connection.token_parameter)
        if key not in kept or kept[key][0] != token:  # new, or the token was rotated
            kept[key] = (token, HubSpotCrm(token, settings.hubspot_base_url))
        return kept[key][1]

    return crm_for


def hubspot_pusher(settings: Settings, on: HealthScoreStore | None = None) -> Pusher:
    """The write-back's use case (functions/writeback), holding leases as this environment."""
    crm_for = hubspot_clients(settings)
    return Pusher(on or store(settings), crm_for, holder=f"writeback-{uuid.uuid4().hex[:12]}")


def webhook_secrets(settings: Settings) -> WebhookSecrets:
    """The webhook's signing secrets and portal registrations (SSM, cached)."""
    return WebhookSecrets(
        client("ssm", settings), settings.webhook_secrets_path, settings.hubspot_app_path
    )


def exports(settings: Settings) -> ExportStorage | None:
    """Where the recompute's sharded exports go on AWS; None locally (a temporary folder)."""
    if not settings.export_bucket:
        return None
    return S3Exports(settings.export_bucket, "exports", client("s3", settings))


def datasets(settings: Settings) -> ExportStorage:
    """Where analysts' exports go: the export bucket's `datasets/` on AWS, else a local folder
    (the local stack's)."""
    if settings.export_bucket:
        return S3Exports(settings.export_bucket, "datasets", client("s3", settings))
    return LocalExports(Path(settings.export_folder))


def api_use_cases(settings: Settings, on: HealthScoreStore | None = None) -> ApiUseCases:
    """The API's use cases over the deployment's tables (or `on`: another store that keeps the
    same ports, e.g. the in-memory one the API tests run on)."""
    shared = on or store(settings)
    starter = SqsJobStarter(settings)
    definitions = Definitions(shared, starter)
    return ApiUseCases(
        segments=Segments(shared),
        definitions=definitions,
        records=Records(shared, IncrementalScorer(shared, clock=clock(settings).now)),
        views=ScoreViews(shared, definitions),
        clock=clock(settings),
        integrations=Integrations(
            shared,
            hubspot_tokens(settings),
            portal_registry(settings),
            writeback_queue(settings),
            settings.hubspot_tokens_path,
        ),
        overrides=Overrides(shared, definitions),
        exports=Exports(shared, starter, lambda: datasets(settings)),
        trends=Trends(shared, clock(settings).now),
    )
