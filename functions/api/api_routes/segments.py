"""Segments: list, read, create or replace (versioned), delete."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from api_routes.common import Id, IfMatch, JsonObject, VersionQuery, caller, use_cases, version_of

segments = Router()


@segments.get("/segments")
def list_segments() -> list[dict[str, Any]]:
    return use_cases().segments.list_segments(caller(segments))


@segments.get("/segments/<segment_id>")
def get_segment(segment_id: Id) -> dict[str, Any]:
    return use_cases().segments.get_segment(caller(segments), segment_id)


@segments.put("/segments/<segment_id>")
def put_segment(
    segment_id: Id, body: JsonObject, version: VersionQuery = None, if_match: IfMatch = None
) -> dict[str, Any]:
    return use_cases().segments.put_segment(
        caller(segments), segment_id, body, version_of(version, if_match)
    )


@segments.delete("/segments/<segment_id>", status_code=204)
def delete_segment(segment_id: Id) -> Response[Any]:
    use_cases().segments.delete_segment(caller(segments), segment_id)
    return Response(status_code=204)
