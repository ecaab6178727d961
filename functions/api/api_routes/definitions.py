"""Score definitions and their lifecycle: create (from JSON or the pre-defined groups), edit,
turn on, update, turn off, delete; clone and delete groups and rules."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from api_routes.common import Id, IfMatch, JsonObject, VersionQuery, caller, use_cases, version_of

definitions = Router()


class FromTemplates(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    segments: list[str] = Field(min_length=1)
    templates: list[str] | None = None
    object_type: Literal["companies", "contacts"] = "companies"


@definitions.get("/definitions")
def list_definitions() -> list[dict[str, Any]]:
    return use_cases().definitions.list_definitions(caller(definitions))


@definitions.post("/definitions", status_code=201)
def create_definition(body: JsonObject) -> dict[str, Any]:
    return use_cases().definitions.create_definition(caller(definitions), body)


@definitions.post("/definitions/from-templates", status_code=201)
def create_from_templates(body: FromTemplates) -> dict[str, Any]:
    return use_cases().definitions.create_from_templates(
        caller(definitions), body.name, body.segments, body.templates, body.object_type
    )


@definitions.get("/definitions/<definition_id>")
def get_definition(definition_id: Id) -> dict[str, Any]:
    return use_cases().definitions.get_definition(caller(definitions), definition_id)


@definitions.put("/definitions/<definition_id>")
def edit_definition(
    definition_id: Id, body: JsonObject, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.edit_definition(
        caller(definitions), definition_id, body, version_of(version, if_match)
    )


@definitions.delete("/definitions/<definition_id>", status_code=204)
def delete_definition(
    definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> Response[Any]:
    use_cases().definitions.delete_definition(
        caller(definitions), definition_id, version_of(version, if_match)
    )
    return Response(status_code=204)


@definitions.post("/definitions/<definition_id>/turn-on", status_code=202)
def turn_on(
    definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    definition, job = use_cases().definitions.turn_on(
        caller(definitions), definition_id, version_of(version, if_match)
    )
    return {"definition": definition, "job": job}


@definitions.post("/definitions/<definition_id>/update", status_code=202)
def publish(
    definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    definition, job = use_cases().definitions.publish(
        caller(definitions), definition_id, version_of(version, if_match)
    )
    return {"definition": definition, "job": job}


@definitions.post("/definitions/<definition_id>/turn-off")
def turn_off(
    definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.turn_off(
        caller(definitions), definition_id, version_of(version, if_match)
    )


@definitions.post("/definitions/<definition_id>/groups/<group_id>/clone")
def clone_group(
    definition_id: Id, group_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.clone_group(
        caller(definitions), definition_id, group_id, version_of(version, if_match)
    )


@definitions.delete("/definitions/<definition_id>/groups/<group_id>")
def delete_group(
    definition_id: Id, group_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.delete_group(
        caller(definitions), definition_id, group_id, version_of(version, if_match)
    )


@definitions.post("/definitions/<definition_id>/rules/<rule_id>/clone")
def clone_rule(
    definition_id: Id, rule_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.clone_rule(
        caller(definitions), definition_id, rule_id, version_of(version, if_match)
    )


@definitions.delete("/definitions/<definition_id>/rules/<rule_id>")
def delete_rule(
    definition_id: Id, rule_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().definitions.delete_rule(
        caller(definitions), definition_id, rule_id, version_of(version, if_match)
    )
