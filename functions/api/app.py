"""The healthscore HTTP API (API Gateway HTTP API with a JWT authorizer → this function).

Routing only: one Router per resource; every route calls one use case (segments, definitions,
records, score views — wired once by `healthscore.bootstrap`) for the caller the token names.
Domain errors become HTTP statuses once, in the exception handlers below. OpenAPI:
`/openapi.json`, Swagger UI: `/docs`.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi import swagger_ui
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from healthscore import bootstrap
from healthscore.adapters.auth import Unauthenticated, caller_from_claims
from healthscore.domain.access import Caller
from healthscore.domain.definition import DefinitionError
from healthscore.domain.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
)
from healthscore.domain.plans import PlanLimitExceeded
from healthscore.domain.templates import UnknownTemplate
from healthscore.domain.values import parse_instant
from healthscore.settings import Settings

logger = Logger(service="healthscore-api")
tracer = Tracer(service="healthscore-api")
app = APIGatewayHttpResolver(enable_validation=True)

ObjectType = Annotated[
    str, Path(pattern=r"^(companies|contacts|deals|tickets|custom:[A-Za-z0-9_\-]+)$")
]
Id = Annotated[str, Path(min_length=1, max_length=200)]
VersionQuery = Annotated[int | None, Query(ge=0, description="The version you read (or If-Match)")]
IfMatch = Annotated[str | None, Header(alias="if-match")]
AsOf = Annotated[str | None, Query(description="ISO-8601 instant with offset; default now")]
RevisionQuery = Annotated[Literal["draft", "live"], Query()]
JsonObject = Annotated[dict[str, Any], Body()]


@functools.cache
def use_cases() -> bootstrap.ApiUseCases:
    """Wired once per execution environment, on first use (settings from the environment)."""
    return bootstrap.api_use_cases(Settings.from_environment())


def caller() -> Caller:
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    return caller_from_claims(claims)


def version_of(version: int | None, if_match: str | None) -> int | None:
    if version is not None:
        return version
    if if_match:
        text = if_match.strip().removeprefix("W/").strip('"')
        if text.isdigit():
            return int(text)
        raise InvalidRequest("If-Match", 'must be the version number you read, e.g. "3"')
    return None


def instant(as_of: str | None) -> datetime:
    if as_of is None:
        return use_cases().clock.now()
    moment = parse_instant(as_of)
    if moment is None:
        raise InvalidRequest("as_of", "must be ISO-8601 with an offset, e.g. 2026-06-15T12:00:00Z")
    return moment


# ---------------------------------------------------------------------------------------------
# Segments

segments = Router()


@segments.get("/segments")
def list_segments() -> list[dict[str, Any]]:
    return use_cases().segments.list_segments(caller())


@segments.get("/segments/<segment_id>")
def get_segment(segment_id: Id) -> dict[str, Any]:
    return use_cases().segments.get_segment(caller(), segment_id)


@segments.put("/segments/<segment_id>")
def put_segment(
    segment_id: Id, body: JsonObject, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().segments.put_segment(
        caller(), segment_id, body, version_of(version, if_match)
    )


@segments.delete("/segments/<segment_id>", status_code=204)
def delete_segment(segment_id: Id) -> Response[Any]:
    use_cases().segments.delete_segment(caller(), segment_id)
    return Response(status_code=204)


# ---------------------------------------------------------------------------------------------
# Definitions and their lifecycle

definitions = Router()


class FromTemplates(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    segments: list[str] = Field(min_length=1)
    templates: list[str] | None = None
    object_type: Literal["companies", "contacts"] = "companies"


class TestRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_id: str = Field(min_length=1)
    revision: Literal["draft", "live"] = "draft"
    as_of: str | None = None


@definitions.get("/definitions")
def list_definitions() -> list[dict[str, Any]]:
    return use_cases().definitions.list_definitions(caller())


@definitions.post("/definitions", status_code=201)
def create_definition(body: JsonObject) -> dict[str, Any]:
    return use_cases().definitions.create_definition(caller(), body)


@definitions.post("/definitions/from-templates", status_code=201)
def create_from_templates(body: FromTemplates) -> dict[str, Any]:
    return use_cases().definitions.create_from_templates(
        caller(), body.name, body.segments, body.templates, body.object_type
    )


@definitions.get("/definitions/<definition_id>")
def get_definition(definition_id: Id) -> dict[str, Any]:
    return use_cases().definitions.get_definition(caller(), definition_id)


@definitions.put("/definitions/<definition_id>")
def edit_definition(
    definition_id: Id, body: JsonObject, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.edit_definition(
        caller(), definition_id, body, version_of(version, if_match)
    )


@definitions.delete("/definitions/<definition_id>", status_code=204)
def delete_definition(
    definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> Response[Any]:
    use_cases().definitions.delete_definition(
        caller(), definition_id, version_of(version, if_match)
    )
    return Response(status_code=204)


@definitions.post("/definitions/<definition_id>/turn-on", status_code=202)
def turn_on(
    definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    definition, job = use_cases().definitions.turn_on(
        caller(), definition_id, version_of(version, if_match)
    )
    return {"definition": definition, "job": job}


@definitions.post("/definitions/<definition_id>/update", status_code=202)
def publish(
    definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    definition, job = use_cases().definitions.publish(
        caller(), definition_id, version_of(version, if_match)
    )
    return {"definition": definition, "job": job}


@definitions.post("/definitions/<definition_id>/turn-off")
def turn_off(
    definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.turn_off(caller(), definition_id, version_of(version, if_match))


@definitions.post("/definitions/<definition_id>/groups/<group_id>/clone")
def clone_group(
    definition_id: Id, group_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.clone_group(
        caller(), definition_id, group_id, version_of(version, if_match)
    )


@definitions.delete("/definitions/<definition_id>/groups/<group_id>")
def delete_group(
    definition_id: Id, group_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.delete_group(
        caller(), definition_id, group_id, version_of(version, if_match)
    )


@definitions.post("/definitions/<definition_id>/rules/<rule_id>/clone")
def clone_rule(
    definition_id: Id, rule_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.clone_rule(
        caller(), definition_id, rule_id, version_of(version, if_match)
    )


@definitions.delete("/definitions/<definition_id>/rules/<rule_id>")
def delete_rule(
    definition_id: Id, rule_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.delete_rule(
        caller(), definition_id, rule_id, version_of(version, if_match)
    )


@definitions.post("/definitions/<definition_id>/test")
def test_record(definition_id: Id, body: TestRecord) -> dict[str, Any]:
    return use_cases().views.test_record(
        caller(), definition_id, body.revision, body.record_id, instant(body.as_of)
    )


@definitions.get("/definitions/<definition_id>/preview")
def preview(
    definition_id: Id, revision: RevisionQuery = "draft", as_of: AsOf = None
) -> dict[str, Any]:
    return use_cases().views.preview(caller(), definition_id, revision, instant(as_of))


@definitions.get("/definitions/<definition_id>/what-if")
def what_if(
    definition_id: Id,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> dict[str, Any]:
    return use_cases().views.what_if(caller(), definition_id, instant(as_of), limit)


@definitions.get("/definitions/<definition_id>/report")
def report(
    definition_id: Id,
    by: Annotated[str, Query(min_length=1, max_length=200)],
    as_of: AsOf = None,
) -> dict[str, Any]:
    return use_cases().views.report(caller(), definition_id, by, instant(as_of))


@definitions.get("/definitions/<definition_id>/scores")
def scores(
    definition_id: Id,
    status: Annotated[str | None, Query(max_length=200, description="only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    """The stored scores: how many records have each status, and the lowest-scoring ones."""
    return use_cases().views.scores(caller(), definition_id, status, limit)


@definitions.get("/definitions/<definition_id>/records/<object_type>/<record_id>/health")
def health_card(definition_id: Id, object_type: ObjectType, record_id: Id) -> dict[str, Any]:
    return use_cases().views.health_card(caller(), definition_id, (object_type, record_id))


@definitions.get("/definitions/<definition_id>/records/<object_type>/<record_id>/history")
def history(
    definition_id: Id,
    object_type: ObjectType,
    record_id: Id,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    return use_cases().views.history(
        caller(), definition_id, (object_type, record_id), limit, cursor
    )


# ---------------------------------------------------------------------------------------------
# Jobs, output properties

jobs = Router()


@jobs.get("/jobs/<job_id>")
def get_job(job_id: Id) -> dict[str, Any]:
    return use_cases().definitions.get_job(caller(), job_id)


@jobs.get("/output-properties")
def output_properties() -> list[dict[str, Any]]:
    return use_cases().definitions.output_properties(caller())


# ---------------------------------------------------------------------------------------------
# Records, associations, events (admin and test data)

records = Router()


@records.put("/records/<object_type>/<record_id>")
def put_record(object_type: ObjectType, record_id: Id, body: JsonObject) -> dict[str, Any]:
    who = caller()
    use_cases().records.put_record(who, object_type, record_id, body)
    return use_cases().records.get_record(who, (object_type, record_id))


@records.get("/records/<object_type>/<record_id>")
def get_record(object_type: ObjectType, record_id: Id) -> dict[str, Any]:
    return use_cases().records.get_record(caller(), (object_type, record_id))


@records.delete("/records/<object_type>/<record_id>", status_code=204)
def delete_record(object_type: ObjectType, record_id: Id) -> Response[Any]:
    use_cases().records.delete_record(caller(), (object_type, record_id))
    return Response(status_code=204)


@records.post("/associations", status_code=201)
def put_association(body: JsonObject) -> dict[str, Any]:
    line = use_cases().records.put_association(caller(), body)
    return {
        "from_type": line.from_type,
        "from_id": line.from_id,
        "to_type": line.to_type,
        "to_id": line.to_id,
        "labels": list(line.labels),
    }


@records.delete("/associations", status_code=204)
def delete_association(body: JsonObject) -> Response[Any]:
    use_cases().records.delete_association(caller(), body)
    return Response(status_code=204)


@records.post("/events")
def put_events(body: Annotated[list[Any], Body()]) -> dict[str, int]:
    return use_cases().records.put_events(caller(), body)


# ---------------------------------------------------------------------------------------------
# The OpenAPI document and Swagger UI

ERRORS = {
    400: "Bad input: `errors[].path` names each field and `errors[].message` the problem",
    401: "No token, or a token without an account",
    403: "The token may read but not change this account",
    404: "No such thing in this account",
    409: "A stale version, a plan limit, or a name already taken",
    415: "The body is not JSON",
}
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


@functools.cache
def api_document() -> dict[str, Any]:
    """Powertools' generated document, told the truth about errors: validation failures are 400
    with the shared Problem body (not FastAPI's 422), and every operation lists the errors the
    handlers below can return. A JWT bearer token is required everywhere."""
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(title="healthscore API", version="1")
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    document["security"] = [{"bearer": []}]
    problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in document["paths"].values():
        for method, operation in operations.items():
            responses = operation["responses"]
            responses.pop("422", None)
            codes = [400, 401, 403, 404]
            if method != "get":
                codes.append(409)
            if "requestBody" in operation:
                codes.append(415)
            for code in codes:
                responses[str(code)] = {"description": ERRORS[code], "content": problem}
            for code, response in responses.items():
                if code == "204":
                    response.pop("content", None)
    return document


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
app.include_router(segments)
app.include_router(definitions)
app.include_router(jobs)
app.include_router(records)


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
    return app.resolve(event, context)
