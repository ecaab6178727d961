"""Jobs (a turn-on's computation) and the output properties scores write."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from api_routes.common import Id, caller, use_cases

jobs = Router()


@jobs.get("/jobs/<job_id>")
def get_job(job_id: Id) -> dict[str, Any]:
    return use_cases().definitions.get_job(caller(jobs), job_id)


@jobs.get("/output-properties")
def output_properties() -> list[dict[str, Any]]:
    return use_cases().definitions.output_properties(caller(jobs))
