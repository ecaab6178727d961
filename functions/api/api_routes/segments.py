"""Segments: list, read, create or replace (versioned), delete."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from api_routes.common import Id, IfMatch, VersionQuery, caller, use_cases, version_of
from api_routes.schemas import Segment, SegmentBody

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
