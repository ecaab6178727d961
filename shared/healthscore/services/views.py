"""JSON views of stored items for the API, and the small request checks every use case shares
(versions, ids, parsing a body into a domain object)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from healthscore.adapters.dataset_files import RowError
from healthscore.domain.dataset import Dataset, Record
from healthscore.domain.definition import (
    DefinitionError,
    ScoreDefinition,
    default_output_properties,
)
from healthscore.domain.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
)
from healthscore.domain.lifecycle import Job, StoredDefinition, StoredSegment
from healthscore.domain.overrides import Override
from healthscore.domain.reference_engine import check_segments
from healthscore.domain.score_state import ScoreState

T = TypeVar("T")


def health_card_view(
    state: ScoreState,
    now: datetime | None = None,
    colors: Mapping[str, str] | None = None,
    why: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A record's health card from its score state: the effective score and status, and while
    an override is in effect the computed ones beside it (an override that ended since the
    state was written — the sweep writes it within the hour — shows the computed ones). `why`
    is the last change's cause, from its history entry (the state keeps only its kind)."""
    change = state.change or {}
    delta = int(change.get("delta", 0))
    override = state.override
    score, status, color = state.score, state.status, state.color
    if override is not None and now is not None and Override.from_json(override).expires_at <= now:
        score, status = state.computed
        color, override = (colors or {}).get(status or ""), None
    shown = {k: v for k, v in override.items() if k != "color"} if override else None
    return {
        "object_type": state.key[0],
        "id": state.key[1],
        "score": score,
        "status": status,
        "color": color if color is not None else state.color,
        **(
            {"computed_score": state.computed[0], "computed_status": state.computed[1]}
            if shown
            else {}
        ),
        "override": shown,
        "stale": list(state.stale),
        "groups": state.groups,
        "next_change_day": state.due_day.isoformat() if state.due_day else None,
        "last_change": {
            "amount": abs(delta),
            "direction": direction(delta),
            "at": state.changed_at.isoformat() if state.changed_at else None,
            "status_before": change.get("status_before"),
            "why": dict(why) if why is not None else change.get("cause") or _kind(change),
        }
        if change
        else None,
    }


def _kind(change: Mapping[str, Any]) -> dict[str, Any] | None:
    return {"kind": change["kind"]} if change.get("kind") else None


def direction(delta: int) -> str:
    return "up" if delta > 0 else "down" if delta < 0 else "none"


def stored_json(definition: ScoreDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude_none=True)


def working_revision(item: StoredDefinition) -> dict[str, Any]:
    return dict(item.draft if item.draft is not None else item.live or {})


def definition_summary(item: StoredDefinition) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "object_type": item.object_type,
        "state": item.state,
        "live_revision": item.live_revision or None,
        "draft_revision": item.draft_revision if item.draft is not None else None,
        "has_unpublished_edits": item.state == "live" and item.draft is not None,
        "version": item.version,
        "updated_at": item.updated_at.isoformat(),
        "updated_by": item.updated_by,
        "last_job": item.last_job,
    }


SEGMENT_FIELDS = ("id", "name", "object_type", "conditions", "lists")


def segment_view(item: StoredSegment) -> dict[str, Any]:
    return {
        **{k: item.body[k] for k in SEGMENT_FIELDS if item.body.get(k) is not None},
        "version": item.version,
        "updated_at": item.updated_at.isoformat(),
    }


def record_view(record: Record) -> dict[str, Any]:
    return {
        "object_type": record.object_type,
        "id": record.id,
        "properties": dict(record.properties),
        "lists": sorted(record.lists),
    }


def job_view(item: Job) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "status": item.status,
        "definition_id": item.definition_id,
        "detail": item.detail,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


def output_property_entries(
    definition: ScoreDefinition, definition_id: str
) -> list[dict[str, Any]]:
    properties = definition.properties or default_output_properties(definition.name)
    return [
        {
            "name": prop.name,
            "label": prop.label,
            "description": prop.description
            or f"{kind.capitalize()} from the health score {definition.name!r}",
            "group": "Customer health",
            "kind": kind,
            "object_type": definition.object_type,
            "definition_id": definition_id,
            **(
                {"options": [t.label for t in reversed(definition.thresholds)]}
                if kind == "status"
                else {}
            ),
        }
        for kind, prop in (("score", properties.score), ("status", properties.status))
    ]


def check_version(current: int | None, sent: int | None, what: str) -> None:
    if sent is None:
        raise InvalidRequest(
            "version", f"is required: send the version of {what} you read (If-Match or ?version=)"
        )
    if sent != current:
        raise Conflict(
            f"{what} is at version {current}, not {sent}: someone changed it; read it again"
        )


def find_index(items: list[dict[str, Any]], item_id: str, what: str) -> int:
    for index, item in enumerate(items):
        if item.get("id") == item_id:
            return index
    raise NotFound(f"no {what} {item_id!r} in this health score")


def find_rule(working: dict[str, Any], rule_id: str) -> tuple[dict[str, Any], int]:
    for group in working.get("groups", []):
        for index, rule in enumerate(group.get("rules", [])):
            if rule.get("id") == rule_id:
                return group, index
    raise NotFound(f"no rule {rule_id!r} in this health score")


def raise_segment_issues(definition: ScoreDefinition, dataset: Dataset) -> None:
    issues = check_segments(definition, dataset.segments)
    if issues:
        raise DefinitionError(issues)


def parse_request(parse: Callable[[Any], T], raw: Any, prefix: str) -> T:
    try:
        return parse(raw)
    except RowError as error:
        raise InvalidRequest(prefix + error.field, error.message) from error
