"""The healthscore HTTP API (API Gateway HTTP API with a JWT authorizer → this function).

Routing only: one Router per resource; every route calls one use case (segments, definitions,
records, score views — wired once by `healthscore.bootstrap`) for the caller the token names.
Domain errors become HTTP statuses once, in the exception handlers below. OpenAPI:
`/openapi.json`, Swagger UI: `/docs`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from api_routes import definitions, integrations, jobs, portfolio, records, segments, views
from api_routes.common import claim_map, use_cases
from api_routes.gate import Refusal, check_request
from api_routes.openapi import TITLE, VERSION, DocumentedResolver, field_path
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthscore.adapters.auth import Unauthenticated
from healthscore.adapters.gateway_events import with_decoded_path
from healthscore.domain.definition import DefinitionError
from healthscore.domain.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
)
from healthscore.domain.plans import PlanLimitExceeded
from healthscore.domain.templates import UnknownTemplate

logger = Logger(service="healthscore-api")
tracer = Tracer(service="healthscore-api")
app = DocumentedResolver(enable_validation=True, response_validation_error_http_code=500)


# `use_cases` is the wiring the routes share (the local stack and tests reset its cache here)
__all__ = ["use_cases"]


@functools.cache
def api_document() -> dict[str, Any]:
    return app.openapi_document()


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[Any]:
    return Response(status_code=200, content_type="application/json", body=api_document())


app.enable_swagger(path="/docs", title=TITLE, version=VERSION)


app.include_router(segments.segments)
app.include_router(definitions.definitions)
app.include_router(views.views)
app.include_router(jobs.jobs)
app.include_router(records.records)
app.include_router(integrations.integrations)
app.include_router(portfolio.portfolio)


# ---------------------------------------------------------------------------------------------
# Errors, mapped once


def _error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Response[Any]:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = errors
    return Response(status_code=status, content_type="application/json", body=body)


@app.exception_handler(DefinitionError)
def definition_error(error: DefinitionError) -> Response[Any]:
    return _error(
        400, "the health score definition is invalid", [i.as_dict() for i in error.issues]
    )


@app.exception_handler(InvalidRequest)
def invalid_request(error: InvalidRequest) -> Response[Any]:
    return _error(400, str(error), [{"path": error.path, "message": error.message}])


@app.exception_handler(UnknownTemplate)
def unknown_template(error: UnknownTemplate) -> Response[Any]:
    return _error(400, str(error.args[0]), [{"path": "templates", "message": str(error.args[0])}])


@app.exception_handler(RequestValidationError)
def request_validation(error: RequestValidationError) -> Response[Any]:
    problems: dict[str, str] = {}
    for e in error.errors():  # a union reports each member: the first message per field
        problems.setdefault(field_path(e.get("loc", ())), e.get("msg", "is invalid"))
    return _error(
        400, "the request is invalid", [{"path": p, "message": m} for p, m in problems.items()]
    )


@app.exception_handler(Unauthenticated)
def unauthenticated(error: Unauthenticated) -> Response[Any]:
    return _error(401, str(error))


@app.exception_handler(Forbidden)
def forbidden(error: Forbidden) -> Response[Any]:
    return _error(403, str(error))


@app.exception_handler(NotFound)
def not_found(error: NotFound) -> Response[Any]:
    return _error(404, str(error))


@app.exception_handler(Conflict)
def conflict(error: Conflict) -> Response[Any]:
    return _error(409, str(error))


@app.exception_handler(PlanLimitExceeded)
def plan_limit(error: PlanLimitExceeded) -> Response[Any]:
    return _error(409, str(error))


@app.exception_handler(ServiceError)
def service_error(error: ServiceError) -> Response[Any]:
    return _error(error.status_code, error.msg)


@app.exception_handler(ResponseValidationError)
def response_invalid(error: ResponseValidationError) -> Response[Any]:
    logger.error("a response broke the API's own document", extra={"errors": error.errors()})
    return internal_error()


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return internal_error()


def internal_error() -> Response[Any]:
    """A bug of ours: a problem document with the request id to quote, no traceback."""
    request_id = app.current_event.request_context.request_id
    body = {
        "message": "something went wrong on our side; it is logged under this request id",
        "request_id": request_id,
    }
    return Response(status_code=500, content_type="application/json", body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = with_decoded_path(event)
    try:
        check_request(event, claim_map)
    except Refusal as refusal:
        return refused(refusal)
    return app.resolve(event, context)


def refused(refusal: Refusal) -> dict[str, Any]:
    body: dict[str, Any] = {"message": refusal.message}
    if refusal.path:
        body["message"] = f"{refusal.path}: {refusal.message}"
        body["errors"] = [{"path": refusal.path, "message": refusal.message}]
    return {
        "statusCode": refusal.status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }
