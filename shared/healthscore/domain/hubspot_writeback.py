"""What a live score writes back to HubSpot (pure): its property group, a number property for the
score and an enumeration for the status whose options are the threshold labels, and the
`batch/update` inputs — at most 100 records each, one input per record however many times it
changed (the latest value wins)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from healthscore.domain.definition import ScoreDefinition

BATCH = 100  # HubSpot's batch/update takes at most 100 inputs


@dataclass(frozen=True, slots=True)
class ScoreValue:
    """A record's score and status as of a stamp (later stamps win when coalescing); no score
    clears both properties (the record left the score's segments)."""

    record_id: str
    score: int | None
    status: str
    stamp: str = ""


def group_spec(definition: ScoreDefinition) -> dict[str, Any]:
    name = definition.output_properties().score.group
    return {"name": name, "label": name.replace("_", " ").capitalize(), "displayOrder": -1}


def property_specs(definition: ScoreDefinition) -> list[dict[str, Any]]:
    """HubSpot PropertyCreate bodies: the score (number) and the status (enumeration)."""
    properties = definition.output_properties()
    labels = [t.label for t in reversed(definition.thresholds)]  # best first, as HubSpot lists
    return [
        {
            "name": properties.score.name,
            "label": properties.score.label or properties.score.name,
            "description": properties.score.description
            or f"0–100, kept by healthscore from the health score {definition.name!r}",
            "groupName": properties.score.group,
            "type": "number",
            "fieldType": "number",
            "formField": False,
        },
        {
            "name": properties.status.name,
            "label": properties.status.label or properties.status.name,
            "description": properties.status.description
            or f"The status of the health score {definition.name!r}, kept by healthscore",
            "groupName": properties.status.group,
            "type": "enumeration",
            "fieldType": "select",
            "formField": False,
            "options": [
                {"label": label, "value": label, "displayOrder": i, "hidden": False}
                for i, label in enumerate(labels)
            ],
        },
    ]


def needs_update(existing: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """The PropertyUpdate body that brings an existing property to the spec (labels renamed,
    thresholds added or removed), or None when it already matches."""
    update: dict[str, Any] = {}
    for key in ("label", "groupName", "type", "fieldType"):
        if existing.get(key) != spec[key]:
            update[key] = spec[key]
    if "options" in spec:
        have = [(o.get("label"), o.get("value")) for o in existing.get("options") or []]
        want = [(o["label"], o["value"]) for o in spec["options"]]
        if have != want:
            update["options"] = spec["options"]
    return update or None


def batch_inputs(
    definition: ScoreDefinition, values: Iterable[ScoreValue]
) -> list[list[dict[str, Any]]]:
    """`batch/update` inputs in batches of ≤ 100, one per record: its latest value."""
    latest: dict[str, ScoreValue] = {}
    for value in values:
        seen = latest.get(value.record_id)
        if seen is None or value.stamp >= seen.stamp:
            latest[value.record_id] = value
    properties = definition.output_properties()
    inputs = [
        {
            "id": value.record_id,
            "properties": {
                properties.score.name: "" if value.score is None else str(value.score),
                properties.status.name: value.status,
            },
        }
        for _, value in sorted(latest.items())
    ]
    return [inputs[i : i + BATCH] for i in range(0, len(inputs), BATCH)]
