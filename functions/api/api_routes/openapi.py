"""The OpenAPI document: Powertools' generated one from the routes and their models, told the
truth about errors and completed with the domain's own models. `/openapi.json`, Swagger UI at
`/docs` and docs/openapi.json are this one document."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.compat import model_json
from aws_lambda_powertools.event_handler.openapi.models import OpenAPI
from pydantic import BaseModel

from healthscore.domain.conditions import Condition
from healthscore.domain.definition import ScoreDefinition

TITLE = "healthscore API"
VERSION = "1"
DESCRIPTION = (
    "Customer health scores: segments, score definitions and their lifecycle, records, "
    "associations and events, and what the scores say (health cards, history, previews, "
    "reports). Every route needs a JWT bearer token naming the account; changes need the "
    "`manage_customer_success_settings` permission and a service seat. Changes carry the "
    "version you read (`?version=` or If-Match)."
)
TAGS = [
    {"name": "Segments", "description": "Which records a health score applies to"},
    {"name": "Score definitions", "description": "Health scores: groups, rules, thresholds"},
    {"name": "Lifecycle", "description": "Turn on, publish a draft, turn off"},
    {"name": "Groups and rules", "description": "Clone and delete parts of a draft"},
    {"name": "Scoring views", "description": "What a revision would say; nothing written"},
    {"name": "Health cards", "description": "The stored scores, cards and history"},
    {"name": "Records", "description": "Records, associations and events, scored at once"},
    {"name": "Jobs", "description": "The computation a turn-on or update starts"},
    {"name": "Portfolio", "description": "Exports for analysts and the daily trend"},
    {"name": "Integrations", "description": "The account's HubSpot portal: sync in, scores out"},
]
DOMAIN_MODELS: tuple[type[BaseModel], ...] = (ScoreDefinition, Condition)
ERRORS = {
    400: "Bad input: `errors[].path` names each field and `errors[].message` the problem",
    401: "No token, or a token without an account",
    403: "The token may read but not change this account",
    404: "No such thing in this account",
    409: "A stale version, a plan limit, or a name already taken",
    413: "The body is bigger than this route takes",
    415: "The body is not JSON",
    500: "A bug of ours: quote `request_id`",
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
        "request_id": {"type": "string", "description": "Only on a 500"},
    },
}
POWERTOOLS_ERRORS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


class DocumentedResolver(APIGatewayHttpResolver):
    """Powertools' resolver whose OpenAPI schema (also what `enable_swagger` serves) is the
    completed document."""

    def openapi_document(self) -> dict[str, Any]:
        generated = super().get_openapi_schema(
            title=TITLE, version=VERSION, description=DESCRIPTION
        )
        document: dict[str, Any] = json.loads(
            model_json(generated, by_alias=True, exclude_none=True)
        )
        return completed(document)

    def get_openapi_schema(self, **_: Any) -> OpenAPI:
        return OpenAPI.model_validate(self.openapi_document())


def completed(document: dict[str, Any]) -> dict[str, Any]:
    """Validation failures are 400 with the shared Problem body (not FastAPI's 422), every
    operation lists the errors it can return, the domain's models are components, and a JWT
    bearer token is required everywhere."""
    document = copy.deepcopy(document)
    document["tags"] = TAGS
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in POWERTOOLS_ERRORS:
        schemas.pop(unused, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for model in DOMAIN_MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
            if schemas.setdefault(name, definition) != definition:
                raise ValueError(f"two schemas named {name}: rename the API's model")
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    document["security"] = [{"bearer": []}]
    problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            responses.pop("422", None)
            for code in error_codes(path, method, operation):
                responses[str(code)] = {"description": ERRORS[code], "content": problem}
            for code, response in responses.items():
                if code == "204":
                    response.pop("content", None)
    return document


def error_codes(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    codes = [400, 401]
    changes = method != "get" and not path.endswith("/test")
    if changes:
        codes.append(403)
    if "{" in path or method == "delete" or path.startswith(("/integrations/", "/exports")):
        codes.append(404)  # (a connection, or the score to export, that is not there too)
    if changes:
        codes.append(409)
    if "requestBody" in operation:
        codes += [413, 415]
    return [*codes, 500]


TYPE_TAG = re.compile(r"^(constrained-)?(str|int|float|bool|list|dict|none)$|\[")


def field_path(loc: Sequence[Any]) -> str:
    """Where a validation error is, as the domain names fields: `conditions[0].operator`,
    `[2].occurred_at`; the request part and pydantic's union-member tags left out."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and not TYPE_TAG.search(part):
            text += f".{part}" if text else part
    return text or "body"
