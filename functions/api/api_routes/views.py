"""What a score says: test a record, preview, what-if, reports, stored scores, health cards and
history."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from api_routes.common import AsOf, Id, ObjectType, RevisionQuery, caller, instant, use_cases
from api_routes.schemas import (
    Distribution,
    HealthCard,
    History,
    OutOfScope,
    OverrideRequest,
    Report,
    Scored,
    Scores,
    TestRecord,
    WhatIf,
)
from healthscore.domain.definition import MAX_COMPARE_DAYS
from healthscore.domain.errors import InvalidRequest

views = Router()
VIEWS = ["Scoring views"]
HEALTH = ["Health cards"]


@views.post(
    "/definitions/<definition_id>/test",
    tags=VIEWS,
    operation_id="testRecord",
    summary="Score one record (nothing written)",
    description="A record's score under the draft or live revision, with each group's and "
    "rule's points and why — or that it is in none of the score's segments. Reading only.",
)
def test_record(definition_id: Id, body: Annotated[TestRecord, Body()]) -> Scored | OutOfScope:
    return use_cases().views.test_record(
        caller(views), definition_id, body.revision, body.record_id, instant(body.as_of)
    )


@views.get(
    "/definitions/<definition_id>/preview",
    tags=VIEWS,
    operation_id="previewDistribution",
    summary="Preview the distribution",
    description="How a revision would score the whole portfolio: 5-point bins and statuses.",
)
def preview(
    definition_id: Id, revision: RevisionQuery = "draft", as_of: AsOf = None
) -> Distribution:
    return use_cases().views.preview(caller(views), definition_id, revision, instant(as_of))


@views.get(
    "/definitions/<definition_id>/what-if",
    tags=VIEWS,
    operation_id="whatIf",
    summary="Compare the draft with the live revision",
    description="How many records would change score or status, the status transitions, and "
    "the biggest movers.",
)
def what_if(
    definition_id: Id,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many movers")] = 20,
) -> WhatIf:
    return use_cases().views.what_if(caller(views), definition_id, instant(as_of), limit)


@views.get(
    "/definitions/<definition_id>/report",
    tags=VIEWS,
    operation_id="report",
    summary="Report by a property or by segment",
    description="Records, average, median and statuses per value of a property (`by=industry`) "
    "or per segment (`by=segment`), under the live revision.",
)
def report(
    definition_id: Id,
    by: Annotated[str, Query(min_length=1, max_length=200, description="property or segment")],
    as_of: AsOf = None,
) -> Report:
    return use_cases().views.report(caller(views), definition_id, by, instant(as_of))


@views.get(
    "/definitions/<definition_id>/scores",
    tags=HEALTH,
    operation_id="storedScores",
    summary="The stored scores",
    description="How many records have each status, and the lowest-scoring ones as health "
    "cards: the accounts to look at first.",
)
def scores(
    definition_id: Id,
    status: Annotated[str | None, Query(max_length=200, description="only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Scores:
    return use_cases().views.scores(caller(views), definition_id, status, limit)


@views.get(
    "/definitions/<definition_id>/records/<object_type>/<record_id>/health",
    tags=HEALTH,
    operation_id="healthCard",
    summary="A record's health card",
    description="Its score, status, points per group, the last change and why, the day "
    "the score next changes on its own, and the trend: the score and status `compare` days ago "
    "and the change since.",
)
def health_card(
    definition_id: Id,
    object_type: ObjectType,
    record_id: Id,
    compare: Annotated[
        str | None,
        Query(
            pattern=r"^[1-9][0-9]{0,2}d$",
            description="The trend window, e.g. 7d, 30d, 90d (at most 365d); default the "
            "definition's card.compare_days, else 30d",
        ),
    ] = None,
) -> HealthCard:
    days = None
    if compare is not None:
        days = int(compare[:-1])
        if days > MAX_COMPARE_DAYS:
            raise InvalidRequest("compare", f"at most {MAX_COMPARE_DAYS}d (got {compare})")
    return use_cases().views.health_card(
        caller(views), definition_id, (object_type, record_id), instant(None), days
    )


@views.get(
    "/definitions/<definition_id>/records/<object_type>/<record_id>/history",
    tags=HEALTH,
    operation_id="scoreHistory",
    summary="A record's score history",
    description="Every change of its score, newest first, each with its cause; paginated.",
)
def history(
    definition_id: Id,
    object_type: ObjectType,
    record_id: Id,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="next_cursor of the previous page")
    ] = None,
) -> History:
    return use_cases().views.history(
        caller(views), definition_id, (object_type, record_id), limit, cursor
    )


@views.put(
    "/definitions/<definition_id>/records/<object_type>/<record_id>/override",
    tags=HEALTH,
    operation_id="setOverride",
    summary="Override a record's status",
    description="A CSM who knows better sets the record's status (and optionally its score) "
    "for this live score, with a reason, until `expires_at` (at most 365 days ahead). The card "
    "shows the override beside the computed score; history records who and why; a status "
    "change is published when the effective status moves. Replaces an override in effect.",
)
def set_override(
    definition_id: Id,
    object_type: ObjectType,
    record_id: Id,
    body: Annotated[OverrideRequest, Body()],
) -> HealthCard:
    return use_cases().overrides.put(
        caller(views),
        definition_id,
        (object_type, record_id),
        body.model_dump(),
        instant(None),
    )


@views.delete(
    "/definitions/<definition_id>/records/<object_type>/<record_id>/override",
    tags=HEALTH,
    operation_id="clearOverride",
    summary="Clear a record's override",
    description="The computed score and status are shown again; history records who cleared "
    "it. 404 when the record has no override.",
)
def clear_override(definition_id: Id, object_type: ObjectType, record_id: Id) -> HealthCard:
    return use_cases().overrides.delete(
        caller(views), definition_id, (object_type, record_id), instant(None)
    )
