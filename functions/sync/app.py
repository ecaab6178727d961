"""HubSpot in, on a schedule: for each connected account whose sync is on, what changed in its
portal since the last run goes to the changes queue as the scorer's changes
(services/hubspot_sync.py). Checkpoints per object type make every run resume where the last
one stopped (its time ran out, or HubSpot refused); one run per account at a time (a lease).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore import bootstrap
from healthscore.adapters.hubspot_errors import HubSpotUnavailable
from healthscore.services.hubspot_sync import sync_account
from healthscore.settings import Settings

logger = Logger(service="healthscore-sync")
tracer = Tracer(service="healthscore-sync")
metrics = Metrics(namespace="healthscore", service="sync")
HOLDER = f"sync-{uuid.uuid4().hex[:12]}"


@functools.cache
def settings() -> Settings:
    return Settings.from_environment()


@functools.cache
def wiring() -> tuple[Any, Any, Any]:
    current = settings()
    return (
        bootstrap.store(current),
        bootstrap.hubspot_clients(current),
        bootstrap.change_queue(current),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store, crm_for, queue = wiring()
    accounts = [event["account"]] if event.get("account") else store.hubspot_accounts()
    report = []
    for account in accounts:
        connection = store.hubspot_connection(account)
        if connection is None:
            continue
        try:
            result = sync_account(
                store,
                crm_for(connection),
                queue,
                account,
                holder=HOLDER,
                time_left=lambda: context.get_remaining_time_in_millis() / 1000,
            )
        except HubSpotUnavailable as error:  # the checkpoint holds; the next run resumes
            logger.warning("HubSpot refused the sync", account=account, error=str(error))
            report.append({"account": account, "error": str(error)})
            continue
        metrics.add_metric(name="SyncedChanges", unit=MetricUnit.Count, value=result.messages)
        metrics.add_metric(name="HubSpotRequests", unit=MetricUnit.Count, value=result.requests)
        report.append(
            {
                "account": account,
                "finished": result.finished,
                "incremental": result.incremental,
                "records": result.records,
                "links": result.links,
                "removed_links": result.removed_links,
                "events": result.events,
                "requests": result.requests,
                "skipped": result.skipped,
            }
        )
        logger.info("synced", **report[-1])
    return {"accounts": report}
