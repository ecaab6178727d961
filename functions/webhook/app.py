"""Webhooks in: `POST /webhooks/events?account=<id>` (no JWT: HubSpot v3 signatures instead).

Verify the signature over the raw body with the account's secret (SSM, via Powertools
parameters, cached for 5 minutes), parse and validate the whole batch, enqueue one message per
change on the changes queue, answer 202 — well inside HubSpot's 5-second budget. A refused
request (401 signature, 400 bad item, 403 another account's item, 413 too large) enqueues
nothing.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore import bootstrap
from healthscore.adapters.aws_clients import client
from healthscore.adapters.change_queue import QueueUnavailable, SqsChangeQueue
from healthscore.adapters.clock import Clock
from healthscore.adapters.webhooks import (
    WebhookRefused,
    check_account,
    parse_batch,
    queue_messages,
    verify,
)
from healthscore.settings import Settings

logger = Logger(service="healthscore-webhook")
tracer = Tracer(service="healthscore-webhook")
metrics = Metrics(namespace="healthscore", service="webhook")
app = APIGatewayHttpResolver()
SECRET_MAX_AGE = 300  # seconds a secret is cached; a rotated secret takes effect within this


@functools.cache
def settings() -> Settings:
    return Settings.from_environment()


@functools.cache
def secrets() -> parameters.SSMProvider:
    return parameters.SSMProvider(boto3_client=client("ssm", settings()))


@functools.cache
def queue() -> SqsChangeQueue:
    return bootstrap.change_queue(settings())


def secret_of(account: str) -> str:
    name = f"{settings().webhook_secrets_path}/{account}"
    try:
        value = secrets().get(name, decrypt=True, max_age=SECRET_MAX_AGE)
    except parameters.exceptions.GetParameterError as error:
        raise WebhookRefused(401, f"no webhook secret is set up for account {account!r}") from error
    return str(value)


@app.exception_handler(WebhookRefused)
def refused(error: WebhookRefused) -> Response[dict[str, Any]]:
    logger.warning("webhook refused", extra={"status": error.status, "reason": error.message})
    metrics.add_metric(name="WebhookRefused", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=error.status,
        content_type="application/json",
        body={"message": error.message},
    )


@app.post("/webhooks/events")
@tracer.capture_method
def receive() -> Response[dict[str, Any]]:
    event = app.current_event
    account = check_account(event.get_query_string_value("account"))
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    scheme = headers.get("x-forwarded-proto", "https")
    host = headers.get("host") or event.request_context.domain_name
    query = f"?{event.raw_query_string}" if event.raw_query_string else ""
    uri = f"{scheme}://{host}{event.raw_path}{query}"
    now = Clock().now()  # the wall clock: signatures are about real time, not the scoring clock
    verify(secret_of(account), "POST", uri, body, headers, now)
    changes = parse_batch(body, account, now)
    messages = queue_messages(account, changes)
    try:
        queue().send(messages)
    except QueueUnavailable as error:
        logger.exception("enqueue failed")
        return Response(503, "application/json", {"message": f"{error}; send the batch again"})
    metrics.add_metric(name="ChangesAccepted", unit=MetricUnit.Count, value=len(changes))
    return Response(202, "application/json", {"accepted": len(changes)})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
