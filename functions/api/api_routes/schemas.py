"""What the API's requests carry and its responses return, as pydantic models: Powertools
validates requests and responses against them and the OpenAPI document is generated from them.

A score definition and a segment condition are the domain's own models (`ScoreDefinition`,
`Condition`): the domain validates them, naming every problem at once, and the document
refers to their schemas (`openapi.py` adds them to the components).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

# Bounds every body keeps to: a stored item stays well under DynamoDB's 400 KB.
MAX_ID = 200
MAX_NAME = 200
MAX_ITEMS = 100
MAX_PROPERTIES = 500
MAX_TEXT = 10_000
MAX_EVENTS = 500

OBJECT_TYPE = r"^(companies|contacts|deals|tickets|custom:[A-Za-z0-9_\-]{1,100})$"
ObjectTypeName = Annotated[str, StringConstraints(pattern=OBJECT_TYPE)]
IdText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID)]
# HubSpot's ids are numbers; a JSON number is accepted wherever an id is.
AnyId = IdText | Annotated[int, Field(ge=0, le=10**18)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]
Scalar = Annotated[str, StringConstraints(max_length=MAX_TEXT)] | bool | int | float | None
PropertyValue = Scalar | Annotated[list[Scalar], Field(max_length=MAX_ITEMS)]
Properties = Annotated[dict[str, PropertyValue], Field(max_length=MAX_PROPERTIES)]
Instant = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


def component(name: str) -> WithJsonSchema:
    return WithJsonSchema({"$ref": f"#/components/schemas/{name}"})


DefinitionJson = Annotated[dict[str, Any], component("ScoreDefinition")]
ConditionJson = Annotated[dict[str, Any], component("Condition")]
Cause = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "description": "What moved the score: `kind` (event, property, association, "
            "decay, recompute, removed, …) and what the kind names (event id and type, "
            "property and values, the linked record).",
            "required": ["kind"],
            "properties": {"kind": {"type": "string"}},
        }
    ),
]


def example(body: Any) -> ConfigDict:
    """A request model's settings: unknown fields refused, and an example for the document."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [body]})


class Strict(BaseModel):
    """Unknown fields are refused (a misspelt field would otherwise be silently dropped)."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------
# Requests


class SegmentBody(Strict):
    model_config = example(
        {
            "name": "Upmarket customers",
            "object_type": "companies",
            "conditions": [
                {
                    "property": "lifecyclestage",
                    "operator": "eq_any",
                    "values": ["customer"],
                },
                {"property": "numberofemployees", "operator": "gte", "value": 200},
            ],
        }
    )
    id: IdText | None = Field(None, description="If sent, the id in the path")
    name: Label | None = Field(None, description="Shown in reports; default: the segment's id")
    object_type: ObjectTypeName
    conditions: Annotated[list[ConditionJson], Field(max_length=MAX_ITEMS)] = Field(
        default_factory=list, description="All must hold (none: every record of the type)"
    )
    lists: Annotated[list[Label], Field(max_length=MAX_ITEMS)] = Field(
        default_factory=list, description="The record must be in one of these lists"
    )


class RecordBody(Strict):
    model_config = example({"properties": {"name": "Acme", "nps_score": 9}, "lists": ["vip"]})
    properties: Properties = Field(
        default_factory=dict, description="Property name → a scalar or a list of scalars"
    )
    lists: Annotated[list[Label], Field(max_length=MAX_ITEMS)] = Field(
        default_factory=list, description="The lists the record is in"
    )


class AssociationBody(Strict):
    model_config = example(
        {
            "from_type": "companies",
            "from_id": "c1",
            "to_type": "contacts",
            "to_id": "p1",
            "labels": ["Champion"],
        }
    )
    from_type: ObjectTypeName
    from_id: AnyId
    to_type: ObjectTypeName
    to_id: AnyId
    labels: Annotated[list[Label], Field(max_length=MAX_ITEMS)] = Field(default_factory=list)


class EventBody(Strict):
    model_config = example(
        {
            "id": "e-1",
            "type": "meeting_booked",
            "occurred_at": "2026-06-01T10:00:00Z",
            "object_type": "contacts",
            "object_id": "p1",
            "properties": {"outcome": "completed"},
        }
    )
    id: AnyId = Field(description="Unique per owner: a repeated id is counted, not applied")
    type: Label = Field(description="The event type, e.g. meeting_booked")
    occurred_at: Instant | int = Field(description="ISO-8601 with an offset, or epoch ms")
    object_type: ObjectTypeName
    object_id: AnyId
    properties: Properties = Field(default_factory=dict)


class TestRecord(Strict):
    record_id: IdText
    revision: Literal["draft", "live"] = "draft"
    as_of: Instant | None = Field(None, description="ISO-8601 instant with offset; default now")


class FromTemplates(Strict):
    model_config = example({"name": "Customer health", "segments": ["customers"]})
    name: Label
    segments: Annotated[list[IdText], Field(min_length=1, max_length=MAX_ITEMS)]
    templates: Annotated[list[IdText], Field(max_length=MAX_ITEMS)] | None = Field(
        None, description="Pre-defined groups by id; default: all of them"
    )
    object_type: Literal["companies", "contacts"] = "companies"


# ---------------------------------------------------------------------------------------------
# Responses


class Segment(Strict):
    id: str
    name: str | None = None
    object_type: str
    conditions: list[ConditionJson] = Field(default_factory=list)
    lists: list[str] = Field(default_factory=list)
    version: int = Field(description="Send it back (`?version=` or If-Match) to change it")
    updated_at: Instant


class DefinitionSummary(Strict):
    id: str
    name: str
    object_type: Literal["companies", "contacts"]
    state: Literal["draft", "live", "off"]
    live_revision: int | None
    draft_revision: int | None
    has_unpublished_edits: bool
    version: int = Field(description="Send it back (`?version=` or If-Match) to change it")
    updated_at: Instant
    updated_by: str | None
    last_job: str | None


class Definition(DefinitionSummary):
    draft: DefinitionJson | None = Field(description="The revision being edited, if any")
    live: DefinitionJson | None = Field(description="The revision that scores records, if any")


class Job(Strict):
    id: str
    kind: str = Field(
        description="turn_on or update (a score going live), reconcile (the nightly check) "
        "or export (a dataset for analysts)"
    )
    status: str = Field(description="queued, running, succeeded or failed")
    definition_id: str | None
    detail: dict[str, Any] = Field(description="Counts so far, or why it failed")
    created_at: Instant
    updated_at: Instant


class Lifecycle(Strict):
    definition: Definition
    job: Job = Field(description="The computation of every record's score: poll GET /jobs/{id}")


class OutputPropertyEntry(Strict):
    name: str
    label: str
    description: str
    group: str
    kind: Literal["score", "status"]
    object_type: str
    definition_id: str
    options: list[str] | None = Field(None, description="A status property's labels")


Points = int | float


class RuleBreakdown(Strict):
    id: str | None
    description: str | None
    points: Points
    matched: bool
    limit_applied: bool
    frequency_met: bool | None
    events: list[str] = Field(description="The events that counted")
    records: list[str] = Field(description="The associated records that counted, as type/id")


class GroupBreakdown(Strict):
    name: str
    points: Points
    max_points: int | None
    cap_applied: bool
    rules: list[RuleBreakdown]


class Scored(Strict):
    in_scope: Literal[True]
    object_type: str
    id: str
    score: int
    status: str
    color: str | None
    next_change_day: str | None = Field(description="When the score next changes on its own")
    groups: list[GroupBreakdown]


class OutOfScope(Strict):
    in_scope: Literal[False]
    id: str
    segments: list[str] = Field(description="The segments the record is in none of")


class Bin(Strict):
    from_: int = Field(alias="from")
    to: int
    count: int


class StatusCount(Strict):
    status: str
    color: str | None
    min: int
    count: int


class Distribution(Strict):
    scored: int
    average: float | None
    median: float | None
    bins: list[Bin] = Field(description="Records per 5-point bin, 0–4 up to 95–100")
    statuses: list[StatusCount] = Field(description="Records per status, best first")


class Transition(Strict):
    from_: str = Field(alias="from")
    to: str
    count: int


class Mover(Strict):
    id: str
    live_score: int
    draft_score: int
    delta: int
    live_status: str
    draft_status: str


class WhatIf(Strict):
    compared: int
    changed_status: int
    changed_score: int
    only_live: int
    only_draft: int
    transitions: list[Transition]
    movers: list[Mover] = Field(description="Biggest moves first")


class ReportRow(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"description": "Also holds the value of `by` under `by`'s own name"},
    )
    records: int
    average: float | None
    median: float | None
    statuses: dict[str, int] = Field(description="Effective status → records")
    overridden: int = Field(0, description="How many are overridden")
    stale: int = Field(0, description="How many have stale inputs")


class Report(Strict):
    by: str
    rows: list[ReportRow] = Field(description="Biggest group first")


class LastChange(Strict):
    amount: int
    direction: Literal["up", "down", "none"]
    at: Instant | None
    status_before: str | None
    why: Cause | None


class Trend(Strict):
    days: int = Field(
        description="The window: `?compare`, else the definition's `card.compare_days`, else 30"
    )
    since: Instant = Field(description="The instant compared with (now less the window)")
    score_then: int | None = Field(description="The score then (null: it had none yet)")
    status_then: str | None
    delta: int | None = Field(description="Now less then")


class OverrideShown(Strict):
    status: str = Field(description="The status it sets")
    score: int | None = Field(description="The score it sets; null: the computed score is shown")
    reason: str
    set_by: str
    set_at: Instant
    expires_at: Instant


class OverrideRequest(Strict):
    status: str = Field(description="One of the score's statuses (threshold labels)")
    score: int | None = Field(None, ge=0, le=100, description="A fixed score (optional)")
    reason: str = Field(min_length=1, max_length=500, description="Why: shown on the card")
    expires_at: Instant = Field(description="When it ends: after now, at most 365 days ahead")


class HealthCard(Strict):
    object_type: str
    id: str
    score: int = Field(description="The effective score (an override's, if it sets one)")
    status: str | None = Field(description="The effective status (an override's)")
    color: str | None
    computed_score: int | None = Field(None, description="While overridden: the computed score")
    computed_status: str | None = Field(None, description="While overridden: the computed one")
    override: OverrideShown | None = Field(None, description="The override in effect")
    stale: list[str] = Field(
        default_factory=list, description="Inputs out of date under the freshness rules"
    )
    groups: dict[str, Points] = Field(description="Group name → points")
    next_change_day: str | None
    last_change: LastChange | None
    compare: Trend | None = Field(None, description="The change over the trend window")


class Scores(Strict):
    total: int
    counts: dict[str, int] = Field(description="Status → records, best first (effective)")
    overridden: int = Field(0, description="How many of them are overridden")
    stale: int = Field(0, description="How many have stale inputs")
    lowest: list[HealthCard]


class HistoryEntry(Strict):
    at: Instant
    before: int | None
    after: int | None = Field(description="None: the record no longer has a score")
    delta: int
    status_before: str | None
    status_after: str | None
    cause: Cause
    sequence: int | None = Field(None, description="Orders the entries of one instant")
    computed_score: int | None = Field(None, description="While overridden: the computed score")
    computed_status: str | None = Field(None, description="While overridden: the computed one")
    override: OverrideShown | None = Field(None, description="The override in effect after it")
    stale: list[str] | None = Field(None, description="Inputs out of date after it")
    newly_stale: list[str] | None = Field(None, description="Inputs that went stale with it")


class History(Strict):
    entries: list[HistoryEntry] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Send as ?cursor= for the next page")


class Link(Strict):
    object_type: str
    id: str
    labels: list[str]


class Record(Strict):
    object_type: str
    id: str
    properties: dict[str, Any] = Field(
        description="Its properties, and the live scores' output properties (see read_only)"
    )
    lists: list[str]
    associations: list[Link]
    read_only: list[str] = Field(
        default_factory=list,
        description="The properties live health scores write (score and status): shown, never "
        "set through the API",
    )


class Member(Strict):
    object_type: str
    id: str
    properties: dict[str, Any]
    lists: list[str]


class Members(Strict):
    members: list[Member]
    next_cursor: str | None = Field(
        description="Send it back as `cursor` for the next page; null on the last"
    )


class AssociationLine(Strict):
    from_type: str
    from_id: str
    to_type: str
    to_id: str
    labels: list[str]


class EventsStored(Strict):
    received: int
    stored: int
    duplicates: int = Field(description="Already stored (same owner and id): counted once")


class HubSpotConnectionBody(Strict):
    model_config = example(
        {
            "portal_id": "4470012",
            "token_parameter": "/healthscore/hubspot-tokens/acme",
            "writeback": True,
            "sync": True,
        }
    )

    portal_id: Annotated[str, StringConstraints(pattern=r"^\d{1,20}$")] = Field(
        description="The portal's number (Hub ID); its webhooks are routed to this account"
    )
    token_parameter: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="Where the private app's token is kept — an SSM SecureString parameter "
        "under the deployment's tokens path, or a Secrets Manager ARN of a secret named "
        "healthscore/hubspot/…; never the token itself"
    )
    writeback: bool = Field(True, description="Write each live score's score and status to HubSpot")
    sync: bool = Field(True, description="Import what changes in the portal, on the schedule")


class HubSpotConnection(HubSpotConnectionBody):
    model_config = ConfigDict(extra="forbid")

    connected_by: str
    connected_at: Instant
