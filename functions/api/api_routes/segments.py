"""Segments: list, read, create or replace (versioned), delete."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from api_routes.common import Id, IfMatch, VersionQuery, caller, instant, use_cases, version_of
from api_routes.schemas import Members, Segment, SegmentBody

segments = Router()
TAGS = ["Segments"]


@segments.get(
    "/segments",
    tags=TAGS,
    operation_id="listSegments",
    summary="List segments",
    description="Every segment of the account, with the version to send back when changing it.",
)
def list_segments() -> list[Segment]:
    return use_cases().segments.list_segments(caller(segments))


@segments.get(
    "/segments/<segment_id>",
    tags=TAGS,
    operation_id="getSegment",
    summary="Read a segment",
    description="A segment's conditions and lists, and its version.",
)
def get_segment(segment_id: Id) -> Segment:
    return use_cases().segments.get_segment(caller(segments), segment_id)


@segments.get(
    "/segments/<segment_id>/members",
    tags=TAGS,
    operation_id="listSegmentMembers",
    summary="The records in a segment",
    description="A page of the records the segment holds today, in id order. A page reads "
    "at most 2,000 records, so a sparse segment may answer fewer than `limit` members with a "
    "cursor: keep paging until `next_cursor` is null.",
)
def segment_members(
    segment_id: Id,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="next_cursor of the previous page")
    ] = None,
) -> Members:
    today = instant(None).date()
    return use_cases().segments.members(caller(segments), segment_id, today, limit, cursor)


@segments.put(
    "/segments/<segment_id>",
    tags=TAGS,
    operation_id="putSegment",
    summary="Create or replace a segment",
    description="Creates the segment (send no version) or replaces it (send the version you "
    "read). The scores that use it are not recomputed until they are updated.",
)
def put_segment(
    segment_id: Id,
    body: Annotated[SegmentBody, Body()],
    version: VersionQuery = None,
    if_match: IfMatch = None,
) -> Segment:
    return use_cases().segments.put_segment(
        caller(segments),
        segment_id,
        body.model_dump(exclude_none=True),
        version_of(version, if_match),
    )


@segments.delete(
    "/segments/<segment_id>",
    status_code=204,
    tags=TAGS,
    operation_id="deleteSegment",
    summary="Delete a segment",
    description="Refused (409) while a health score uses it.",
)
def delete_segment(segment_id: Id) -> Response[Any]:
    use_cases().segments.delete_segment(caller(segments), segment_id)
    return Response(status_code=204)
