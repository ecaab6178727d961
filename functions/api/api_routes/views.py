"""What a score says: test a record, preview, what-if, reports, stored scores, health cards and
history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from api_routes.common import AsOf, Id, ObjectType, RevisionQuery, caller, instant, use_cases

views = Router()


class TestRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_id: str = Field(min_length=1)
    revision: Literal["draft", "live"] = "draft"
    as_of: str | None = None


@views.post("/definitions/<definition_id>/test")
def test_record(definition_id: Id, body: TestRecord) -> dict[str, Any]:
    return use_cases().views.test_record(
        caller(views), definition_id, body.revision, body.record_id, instant(body.as_of)
    )


@views.get("/definitions/<definition_id>/preview")
def preview(
    definition_id: Id, revision: RevisionQuery = "draft", as_of: AsOf = None
) -> dict[str, Any]:
    return use_cases().views.preview(caller(views), definition_id, revision, instant(as_of))


@views.get("/definitions/<definition_id>/what-if")
def what_if(
    definition_id: Id,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> dict[str, Any]:
    return use_cases().views.what_if(caller(views), definition_id, instant(as_of), limit)


@views.get("/definitions/<definition_id>/report")
def report(
    definition_id: Id,
    by: Annotated[str, Query(min_length=1, max_length=200)],
    as_of: AsOf = None,
) -> dict[str, Any]:
    return use_cases().views.report(caller(views), definition_id, by, instant(as_of))


@views.get("/definitions/<definition_id>/scores")
def scores(
    definition_id: Id,
    status: Annotated[str | None, Query(max_length=200, description="only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    """The stored scores: how many records have each status, and the lowest-scoring ones."""
    return use_cases().views.scores(caller(views), definition_id, status, limit)


@views.get("/definitions/<definition_id>/records/<object_type>/<record_id>/health")
def health_card(definition_id: Id, object_type: ObjectType, record_id: Id) -> dict[str, Any]:
    return use_cases().views.health_card(caller(views), definition_id, (object_type, record_id))


@views.get("/definitions/<definition_id>/records/<object_type>/<record_id>/history")
def history(
    definition_id: Id,
    object_type: ObjectType,
    record_id: Id,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    return use_cases().views.history(
        caller(views), definition_id, (object_type, record_id), limit, cursor
    )
