"""The OpenAPI document: Powertools' generated one, told the truth about errors."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

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


def api_document(app: APIGatewayHttpResolver) -> dict[str, Any]:
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
