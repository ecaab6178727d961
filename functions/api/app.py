"""The healthscore HTTP API (API Gateway HTTP API with a JWT authorizer → this function).

Routing only: one Router per resource; every route calls one use case (segments, definitions,
records, score views — wired once by `healthscore.bootstrap`) for the caller the token names.
Domain errors become HTTP statuses once, in the exception handlers below. OpenAPI:
`/openapi.json`, Swagger UI: `/docs`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path as FilePath
from typing import Any

from api_routes import definitions, jobs, records, segments, views
from api_routes.common import use_cases
from api_routes.openapi import api_document as build_document
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi import swagger_ui
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html
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
app = APIGatewayHttpResolver(enable_validation=True)


# `use_cases` is the wiring the routes share (the local stack and tests reset its cache here)
__all__ = ["use_cases"]


@functools.cache
def api_document() -> dict[str, Any]:
    return build_document(app)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[Any]:
    return Response(status_code=200, content_type="application/json", body=api_document())


@app.get("/docs", include_in_schema=False)
def docs() -> Response[Any]:
    assets = FilePath(swagger_ui.__file__).parent
    page = generate_swagger_html(
        json.dumps(api_document()).replace("</", "<\\/"),
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )
    return Response(status_code=200, content_type="text/html", body=page)


def json_bodies_only(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Bodies are JSON: a form body (curl -d without a content type) gets a clear 415."""
    event = app.current_event
    content_type = (event.headers or {}).get("content-type", "application/json")
    if event.body and "json" not in content_type.lower():
        return _error(
            415, f"send the body as JSON with content-type: application/json, not {content_type}"
        )
    return next_middleware(app)


app.use(middlewares=[json_bodies_only])
app.include_router(segments.segments)
app.include_router(definitions.definitions)
app.include_router(views.views)
app.include_router(jobs.jobs)
app.include_router(records.records)


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
    problems = [
        {
            "path": ".".join(str(p) for p in e.get("loc", ()) if p not in ("body",)) or "body",
            "message": e.get("msg", "is invalid"),
        }
        for e in error.errors()
    ]
    return _error(400, "the request is invalid", problems)


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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(with_decoded_path(event), context)
