"""Records, associations and events (admin and test data; volume arrives by webhook)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from api_routes.common import Id, JsonObject, ObjectType, caller, use_cases

records = Router()


@records.put("/records/<object_type>/<record_id>")
def put_record(object_type: ObjectType, record_id: Id, body: JsonObject) -> dict[str, Any]:
    who = caller(records)
    use_cases().records.put_record(who, object_type, record_id, body)
    return use_cases().records.get_record(who, (object_type, record_id))


@records.get("/records/<object_type>/<record_id>")
def get_record(object_type: ObjectType, record_id: Id) -> dict[str, Any]:
    return use_cases().records.get_record(caller(records), (object_type, record_id))


@records.delete("/records/<object_type>/<record_id>", status_code=204)
def delete_record(object_type: ObjectType, record_id: Id) -> Response[Any]:
    use_cases().records.delete_record(caller(records), (object_type, record_id))
    return Response(status_code=204)


@records.post("/associations", status_code=201)
def put_association(body: JsonObject) -> dict[str, Any]:
    line = use_cases().records.put_association(caller(records), body)
    return {
        "from_type": line.from_type,
        "from_id": line.from_id,
        "to_type": line.to_type,
        "to_id": line.to_id,
        "labels": list(line.labels),
    }


@records.delete("/associations", status_code=204)
def delete_association(body: JsonObject) -> Response[Any]:
    use_cases().records.delete_association(caller(records), body)
    return Response(status_code=204)


@records.post("/events")
def put_events(body: Annotated[list[Any], Body()]) -> dict[str, int]:
    return use_cases().records.put_events(caller(records), body)
