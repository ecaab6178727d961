"""Records, associations and events (admin and test data; volume arrives by webhook)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from api_routes.common import Id, ObjectType, caller, use_cases
from api_routes.schemas import (
    MAX_EVENTS,
    AssociationBody,
    AssociationLine,
    EventBody,
    EventsStored,
    Record,
    RecordBody,
)

records = Router()
TAGS = ["Records"]


@records.put(
    "/records/<object_type>/<record_id>",
    tags=TAGS,
    operation_id="putRecord",
    summary="Create or replace a record",
    description="Its properties and lists, replaced as a whole and scored at once.",
)
def put_record(
    object_type: ObjectType, record_id: Id, body: Annotated[RecordBody, Body()]
) -> Record:
    who = caller(records)
    use_cases().records.put_record(who, object_type, record_id, body.model_dump())
    return use_cases().records.get_record(who, (object_type, record_id))


@records.get(
    "/records/<object_type>/<record_id>",
    tags=TAGS,
    operation_id="getRecord",
    summary="Read a record",
    description="Its properties, lists and associations.",
)
def get_record(object_type: ObjectType, record_id: Id) -> Record:
    return use_cases().records.get_record(caller(records), (object_type, record_id))


@records.delete(
    "/records/<object_type>/<record_id>",
    status_code=204,
    tags=TAGS,
    operation_id="deleteRecord",
    summary="Delete a record",
    description="Its scores leave with it (a history entry says so); its events are kept.",
)
def delete_record(object_type: ObjectType, record_id: Id) -> Response[Any]:
    use_cases().records.delete_record(caller(records), (object_type, record_id))
    return Response(status_code=204)


@records.post(
    "/associations",
    status_code=201,
    tags=TAGS,
    operation_id="putAssociation",
    summary="Associate two records",
    description="Creates the association or replaces its labels; scored at once.",
)
def put_association(body: Annotated[AssociationBody, Body()]) -> AssociationLine:
    line = use_cases().records.put_association(caller(records), body.model_dump())
    return {
        "from_type": line.from_type,
        "from_id": line.from_id,
        "to_type": line.to_type,
        "to_id": line.to_id,
        "labels": list(line.labels),
    }


@records.delete(
    "/associations",
    status_code=204,
    tags=TAGS,
    operation_id="deleteAssociation",
    summary="Remove an association",
    description="404 when the two records are not associated.",
)
def delete_association(body: Annotated[AssociationBody, Body()]) -> Response[Any]:
    use_cases().records.delete_association(caller(records), body.model_dump())
    return Response(status_code=204)


@records.post(
    "/events",
    tags=TAGS,
    operation_id="putEvents",
    summary="Store events",
    description="Native events, scored at once; a repeated id (per owner) is counted as a "
    "duplicate, not applied twice. Senders with volume use the signed webhook.",
)
def put_events(
    body: Annotated[list[EventBody], Body(min_length=1, max_length=MAX_EVENTS)],
) -> EventsStored:
    return use_cases().records.put_events(caller(records), [e.model_dump() for e in body])
