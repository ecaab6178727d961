"""Jobs (a turn-on's computation) and the output properties scores write."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from api_routes.common import Id, caller, use_cases
from api_routes.schemas import Job, OutputPropertyEntry

jobs = Router()


@jobs.get(
    "/jobs/<job_id>",
    tags=["Jobs"],
    operation_id="getJob",
    summary="A job's progress",
    description="A turn-on's or update's computation: queued, running, succeeded or failed.",
)
def get_job(job_id: Id) -> Job:
    return use_cases().definitions.get_job(caller(jobs), job_id)


@jobs.get(
    "/output-properties",
    tags=["Score definitions"],
    operation_id="listOutputProperties",
    summary="The properties scores write",
    description="A score property and a status property per live health score.",
)
def output_properties() -> list[OutputPropertyEntry]:
    return use_cases().definitions.output_properties(caller(jobs))
