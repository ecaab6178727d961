"""Webhooks in: `POST /webhooks/events[?account=<id>]` (no JWT: HubSpot v3 signatures instead).

Check the signature headers (before any lookup), verify the signature over the raw body with the
account's secret — or, with no `?account=`, the HubSpot public app's — from SSM (cached, found
and missing alike), route each item to its account (`?account=`, or the item's registered
`portalId`), enqueue one message per change taken and answer 202 with what was accepted and
what was skipped and why — well inside HubSpot's 5-second budget. Only a bad signature (401), a
body that is not a JSON array (400) or one over the limits (413) refuses the batch; SSM or SQS
unavailable → 503, which HubSpot retries.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore import bootstrap
from healthscore.adapters.change_queue import QueueUnavailable, SqsChangeQueue
from healthscore.adapters.clock import Clock
from healthscore.adapters.hubspot_signature import SignatureRefused, check_headers, verify
from healthscore.adapters.webhook_secrets import SecretsUnavailable, WebhookSecrets
from healthscore.adapters.webhooks import WebhookRefused, check_account, parse_batch, route_to
from healthscore.settings import Settings

logger = Logger(service="healthscore-webhook")
tracer = Tracer(service="healthscore-webhook")
metrics = Metrics(namespace="healthscore", service="webhook")
app = APIGatewayHttpResolver()


@functools.cache
def settings() -> Settings:
    return Settings.from_environment()


@functools.cache
def secrets() -> WebhookSecrets:
    return bootstrap.webhook_secrets(settings())


@functools.cache
def queue() -> SqsChangeQueue:
    return bootstrap.change_queue(settings())


@app.exception_handler(WebhookRefused)
def refused(error: WebhookRefused) -> Response[dict[str, Any]]:
    logger.warning("webhook refused", extra={"status": error.status, "reason": error.message})
    metrics.add_metric(name="WebhookRefused", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=error.status,
        content_type="application/json",
        body={"message": error.message},
    )


@app.exception_handler(SignatureRefused)
def unsigned(error: SignatureRefused) -> Response[dict[str, Any]]:
    return refused(WebhookRefused(401, str(error)))


@app.exception_handler(SecretsUnavailable)
def no_secrets(error: SecretsUnavailable) -> Response[dict[str, Any]]:
    logger.exception("webhook secrets unavailable")
    metrics.add_metric(name="WebhookSecretsUnavailable", unit=MetricUnit.Count, value=1)
    return Response(503, "application/json", {"message": "try again shortly"})


@app.post("/webhooks/events")
@tracer.capture_method
def receive() -> Response[dict[str, Any]]:
    event = app.current_event
    given = event.get_query_string_value("account")
    account = None if given is None else check_account(given)
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    now = Clock().now()  # the wall clock: signatures are about real time, not the scoring clock
    check_headers(headers, now)
    store = secrets()
    secret = store.account_secret(account) if account is not None else store.app_secret()
    scheme = headers.get("x-forwarded-proto", "https")
    host = headers.get("host") or event.request_context.domain_name
    query = f"?{event.raw_query_string}" if event.raw_query_string else ""
    verify(secret, "POST", f"{scheme}://{host}{event.raw_path}{query}", body, headers, now)
    batch = parse_batch(body, now, route_to(account, store.portal_account))
    for index, reason in batch.skipped:
        logger.info("webhook item skipped", extra={"index": index, "reason": reason})
    try:
        queue().send(batch.messages)
    except QueueUnavailable as error:
        logger.exception("enqueue failed")
        return Response(503, "application/json", {"message": f"{error}; send the batch again"})
    metrics.add_metric(name="ChangesAccepted", unit=MetricUnit.Count, value=len(batch.changes))
    metrics.add_metric(name="ChangesSkipped", unit=MetricUnit.Count, value=len(batch.skipped))
    return Response(202, "application/json", batch.reply())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
