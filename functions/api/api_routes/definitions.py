"""Score definitions and their lifecycle: create (from JSON or the pre-defined groups), edit,
turn on, update, turn off, delete; clone and delete groups and rules."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from api_routes.common import Id, IfMatch, VersionQuery, caller, use_cases, version_of
from api_routes.schemas import (
    Definition,
    DefinitionJson,
    DefinitionSummary,
    FromTemplates,
    Lifecycle,
)

definitions = Router()
TAGS = ["Score definitions"]
LIFECYCLE = ["Lifecycle"]
EDITS = ["Groups and rules"]
DefinitionBody = Annotated[
    DefinitionJson,
    Body(description="A score definition; every problem is named at once (400, `errors[]`)"),
]


@definitions.get(
    "/definitions",
    tags=TAGS,
    operation_id="listDefinitions",
    summary="List health scores",
    description="The account's score definitions, oldest first, without their revisions.",
)
def list_definitions() -> list[DefinitionSummary]:
    return use_cases().definitions.list_definitions(caller(definitions))


@definitions.post(
    "/definitions",
    status_code=201,
    tags=TAGS,
    operation_id="createDefinition",
    summary="Create a health score",
    description="A draft from a definition document; ids are assigned to groups and rules that "
    "have none. Plan limits apply (409).",
)
def create_definition(body: DefinitionBody) -> Definition:
    return use_cases().definitions.create_definition(caller(definitions), body)


@definitions.post(
    "/definitions/from-templates",
    status_code=201,
    tags=TAGS,
    operation_id="createDefinitionFromTemplates",
    summary="Create a health score from pre-defined groups",
    description="A draft made of the pre-defined groups (all of them, or those named), "
    "scoring the given segments.",
)
def create_from_templates(body: Annotated[FromTemplates, Body()]) -> Definition:
    return use_cases().definitions.create_from_templates(
        caller(definitions), body.name, body.segments, body.templates, body.object_type
    )


@definitions.get(
    "/definitions/<definition_id>",
    tags=TAGS,
    operation_id="getDefinition",
    summary="Read a health score",
    description="Its state and version, and its draft and live revisions.",
)
def get_definition(definition_id: Id) -> Definition:
    return use_cases().definitions.get_definition(caller(definitions), definition_id)


@definitions.put(
    "/definitions/<definition_id>",
    tags=TAGS,
    operation_id="editDefinition",
    summary="Edit a health score",
    description="Replaces the draft (a live score gets a new draft revision, published with "
    "update). Send the version you read.",
)
def edit_definition(
    definition_id: Id, body: DefinitionBody, version: VersionQuery = None, if_match: IfMatch = None
) -> Definition:
    return use_cases().definitions.edit_definition(
        caller(definitions), definition_id, body, version_of(version, if_match)
    )


@definitions.delete(
    "/definitions/<definition_id>",
    status_code=204,
    tags=TAGS,
    operation_id="deleteDefinition",
    summary="Delete a health score",
    description="Its revisions, scores and output properties. Turn it off first (409).",
)
def delete_definition(
    definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> Response[Any]:
    use_cases().definitions.delete_definition(
        caller(definitions), definition_id, version_of(version, if_match)
    )
    return Response(status_code=204)


@definitions.post(
    "/definitions/<definition_id>/turn-on",
    status_code=202,
    tags=LIFECYCLE,
    operation_id="turnOn",
    summary="Turn a health score on",
    description="The draft (or the revision turned off) goes live: its output properties are "
    "registered and every record in its segments is scored by a job.",
)
def turn_on(definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None) -> Lifecycle:
    definition, job = use_cases().definitions.turn_on(
        caller(definitions), definition_id, version_of(version, if_match)
    )
    return {"definition": definition, "job": job}


@definitions.post(
    "/definitions/<definition_id>/update",
    status_code=202,
    tags=LIFECYCLE,
    operation_id="publishDraft",
    summary="Publish a live health score's draft",
    description="The draft revision replaces the live one and every score is recomputed.",
)
def publish(definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None) -> Lifecycle:
    definition, job = use_cases().definitions.publish(
        caller(definitions), definition_id, version_of(version, if_match)
    )
    return {"definition": definition, "job": job}


@definitions.post(
    "/definitions/<definition_id>/turn-off",
    tags=LIFECYCLE,
    operation_id="turnOff",
    summary="Turn a health score off",
    description="Scores stop changing; they and the history stay until it is deleted.",
)
def turn_off(
    definition_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> Definition:
    return use_cases().definitions.turn_off(
        caller(definitions), definition_id, version_of(version, if_match)
    )


@definitions.post(
    "/definitions/<definition_id>/groups/<group_id>/clone",
    tags=EDITS,
    operation_id="cloneGroup",
    summary="Clone a group",
    description="A copy of the group (and its rules, with new ids) right after it in the draft.",
)
def clone_group(
    definition_id: Id, group_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> Definition:
    return use_cases().definitions.clone_group(
        caller(definitions), definition_id, group_id, version_of(version, if_match)
    )


@definitions.delete(
    "/definitions/<definition_id>/groups/<group_id>",
    tags=EDITS,
    operation_id="deleteGroup",
    summary="Delete a group",
    description="Removes the group and its rules from the draft.",
)
def delete_group(
    definition_id: Id, group_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> Definition:
    return use_cases().definitions.delete_group(
        caller(definitions), definition_id, group_id, version_of(version, if_match)
    )


@definitions.post(
    "/definitions/<definition_id>/rules/<rule_id>/clone",
    tags=EDITS,
    operation_id="cloneRule",
    summary="Clone a rule",
    description="A copy of the rule, with a new id, right after it in its group.",
)
def clone_rule(
    definition_id: Id, rule_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> Definition:
    return use_cases().definitions.clone_rule(
        caller(definitions), definition_id, rule_id, version_of(version, if_match)
    )


@definitions.delete(
    "/definitions/<definition_id>/rules/<rule_id>",
    tags=EDITS,
    operation_id="deleteRule",
    summary="Delete a rule",
    description="Removes the rule from its group in the draft.",
)
def delete_rule(
    definition_id: Id, rule_id: Id, version: VersionQuery = None, if_match: IfMatch = None
) -> Definition:
    return use_cases().definitions.delete_rule(
        caller(definitions), definition_id, rule_id, version_of(version, if_match)
    )
