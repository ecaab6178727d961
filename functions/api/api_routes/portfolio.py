"""The portfolio as a whole: exports for analysts (the account's dataset beside a live score's
stored scores) and the score's daily trend from the nightly snapshots."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import Field

from api_routes.common import Id, caller, use_cases
from api_routes.schemas import IdText, Job, Strict
from healthscore.domain.snapshots import ALL
from healthscore.services.trends import MAX_DAYS

portfolio = Router()
PORTFOLIO = ["Portfolio"]


class ExportRequest(Strict):
    definition_id: IdText = Field(description="The live health score whose scores are exported")


class ExportFile(Strict):
    name: str = Field(description="records.jsonl, events.jsonl, …, scores.parquet, manifest.json")
    bytes: int
    url: str = Field(description="Download it from here (a link valid for an hour)")


class ExportJob(Job):
    files: list[ExportFile] = Field(description="Once it succeeded: each file of the dataset")


class TrendDay(Strict):
    day: str = Field(description="The day of the nightly snapshot (UTC)")
    segment: str = Field(description=f"The segment's id, or {ALL!r} for every in-scope record")
    count: int
    average: float | None
    median: float | None
    statuses: dict[str, int] = Field(description="Records per effective status")
    overridden: int = Field(description="Records whose status a CSM overrode")
    stale: int = Field(description="Records with at least one stale input")


class PortfolioTrend(Strict):
    definition_id: str
    segment: str
    days: int
    rows: list[TrendDay] = Field(description="One row per day with a snapshot, oldest first")


@portfolio.post(
    "/exports",
    tags=PORTFOLIO,
    operation_id="startExport",
    summary="Export the portfolio for analysts",
    description="Queue an export of the account's dataset (records, associations, events, "
    "segments, property changes, overrides) with a live score's definition and its stored "
    "scores as scores.parquet. Poll GET /exports/{id} for the download links. Needs the "
    "manage permission.",
    status_code=202,
)
def start_export(body: Annotated[ExportRequest, Body()]) -> ExportJob:
    return use_cases().exports.start(caller(portfolio), body.definition_id)


@portfolio.get(
    "/exports/<job_id>",
    tags=PORTFOLIO,
    operation_id="getExport",
    summary="An export and its files",
    description="Its status; once it succeeded, each file with a download link.",
)
def get_export(job_id: Id) -> ExportJob:
    return use_cases().exports.get(caller(portfolio), job_id)


@portfolio.get(
    "/definitions/<definition_id>/exports/latest",
    tags=PORTFOLIO,
    operation_id="latestExport",
    summary="A score's newest export",
    description="The newest finished export of the score (the nightly run's, or one made since "
    "with POST /exports), with its files' download links.",
)
def latest_export(definition_id: Id) -> ExportJob:
    return use_cases().exports.latest(caller(portfolio), definition_id)


@portfolio.get(
    "/definitions/<definition_id>/trend",
    tags=PORTFOLIO,
    operation_id="portfolioTrend",
    summary="The portfolio's daily trend",
    description="One row per day from the nightly snapshots: records, average and median "
    "score, statuses, overridden and stale counts — for every in-scope record or one segment.",
)
def trend(
    definition_id: Id,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="How many days back")] = 90,
    segment: Annotated[
        str, Query(min_length=1, max_length=200, description=f"A segment's id, or {ALL!r}")
    ] = ALL,
) -> PortfolioTrend:
    return use_cases().trends.trend(caller(portfolio), definition_id, days, segment)
