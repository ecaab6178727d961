"""The pre-defined groups ("take me to setup"): sensible groups a team starts from and edits.

Each template is plain definition JSON (docs/definition-reference.md), so it goes through the
same validation as anything a user writes. The property names they read are the ones the
sample portfolio and most CRM exports carry; `healthscore templates NAME` prints one to copy
and adapt.
"""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.validation import parse_definition

DEFAULT_THRESHOLDS: list[dict[str, Any]] = [
    {"min": 0, "label": "At-risk", "color": "#d64545"},
    {"min": 40, "label": "Neutral", "color": "#e0a100"},
    {"min": 70, "label": "Healthy", "color": "#2e9d5b"},
]

_TEMPLATES: dict[str, dict[str, Any]] = {
    "1:1 Engagement": {
        "name": "1:1 Engagement",
        "kind": "event",
        "max_points": 40,
        "description": (
            "Meetings, replies and documents with the customer's people. Points fade by 15% a "
            "month, so engagement has to keep happening to keep the score up."
        ),
        "decay": {"percent": 15, "every": {"value": 1, "unit": "months"}},
        "rules": [
            {"event_type": "meeting_booked", "points": 10, "limit": 30},
            {"event_type": "email_replied", "points": 5, "limit": 15},
            {"event_type": "sales_email_replied", "points": 5, "limit": 10},
            {"event_type": "document_viewed", "points": 3, "limit": 9},
        ],
    },
    "1:1 Call Engagement": {
        "name": "1:1 Call Engagement",
        "kind": "event",
        "max_points": 20,
        "description": (
            "Real conversations in the last six months: each logged call longer than 15 "
            "minutes earns 10 points, and regular calls (3 or more) earn 5 more."
        ),
        "rules": [
            {
                "event_type": "call_ended",
                "points": 10,
                "limit": 20,
                "timeframe": {"value": 180, "unit": "days"},
                "conditions": [
                    {"property": "call_type", "operator": "is_known"},
                    {"property": "duration_seconds", "operator": "gt", "value": 900},
                ],
            },
            {
                "event_type": "call_ended",
                "points": 5,
                "timeframe": {"value": 180, "unit": "days"},
                "frequency": {"op": "at_least", "min": 3},
            },
        ],
    },
    "Support Tickets": {
        "name": "Support Tickets",
        "kind": "property",
        "max_points": 30,
        "description": (
            "Open tickets weigh on health: -5 for each open ticket, -10 more for each open "
            "high-priority one (capped at 30 points in all)."
        ),
        "rules": [
            {
                "object": "tickets",
                "points": -5,
                "limit": 20,
                "conditions": [{"property": "status", "operator": "neq_any", "values": ["closed"]}],
                "association": {"labels": [], "filters": [], "aggregation": "sum"},
            },
            {
                "object": "tickets",
                "points": -10,
                "limit": 20,
                "conditions": [
                    {"property": "status", "operator": "neq_any", "values": ["closed"]},
                    {"property": "priority", "operator": "eq_any", "values": ["HIGH", "URGENT"]},
                ],
            },
        ],
    },
    "CSM Sentiment": {
        "name": "CSM Sentiment",
        "kind": "property",
        "max_points": 20,
        "description": (
            "What the customer success manager thinks, scored individually by value, and "
            "whether they have updated it in the last quarter."
        ),
        "rules": [
            {
                "object": "self",
                "conditions": [
                    {
                        "property": "csm_sentiment",
                        "operator": "eq_any",
                        "values": ["Positive", "Neutral", "Negative"],
                        "points_by_value": {"Positive": 15, "Neutral": 5, "Negative": -15},
                    }
                ],
            },
            {
                "object": "self",
                "points": 5,
                "conditions": [
                    {"property": "csm_sentiment_updated", "operator": "within_last", "value": 90}
                ],
            },
        ],
    },
    "NPS": {
        "name": "NPS",
        "kind": "property",
        "max_points": 20,
        "description": "The last NPS answer: promoters (9–10) add, detractors (0–6) subtract.",
        "rules": [
            {
                "object": "self",
                "points": 20,
                "conditions": [{"property": "nps_score", "operator": "gte", "value": 9}],
            },
            {
                "object": "self",
                "points": 5,
                "conditions": [{"property": "nps_score", "operator": "between", "values": [7, 8]}],
            },
            {
                "object": "self",
                "points": -15,
                "conditions": [{"property": "nps_score", "operator": "lte", "value": 6}],
            },
        ],
    },
}

TEMPLATE_NAMES: tuple[str, ...] = tuple(_TEMPLATES)
TEMPLATES: MappingProxyType[str, dict[str, Any]] = MappingProxyType(_TEMPLATES)


class UnknownTemplate(KeyError):
    """No pre-defined group has that name."""


def template_group(name: str) -> dict[str, Any]:
    """A fresh, editable copy of one pre-defined group (matched case-insensitively)."""
    for known, group in _TEMPLATES.items():
        if known.lower() == name.strip().lower():
            return copy.deepcopy(group)
    raise UnknownTemplate(
        f"no pre-defined group {name!r}; choose from: {', '.join(TEMPLATE_NAMES)}"
    )


def definition_from_templates(
    name: str,
    segments: list[str],
    object_type: str = "companies",
    templates: list[str] | None = None,
) -> dict[str, Any]:
    """A definition's JSON built from pre-defined groups (all five by default)."""
    return {
        "name": name,
        "object_type": object_type,
        "segments": list(segments),
        "groups": [template_group(t) for t in (templates or list(TEMPLATE_NAMES))],
        "thresholds": copy.deepcopy(DEFAULT_THRESHOLDS),
    }


def build_from_templates(
    name: str, segments: list[str], templates: list[str] | None = None
) -> ScoreDefinition:
    """The validated definition (raises DefinitionError if the combination is invalid)."""
    return parse_definition(definition_from_templates(name, segments, templates=templates))
