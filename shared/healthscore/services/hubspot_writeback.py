"""Scores back into HubSpot: the live score's property group and two properties made (or brought
up to date: a renamed label, a new threshold), then its records' scores and statuses in
`batch/update` calls of ≤ 100 records, one update per record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.hubspot_writeback import (
    ScoreValue,
    batch_inputs,
    group_spec,
    needs_update,
    property_specs,
)


class WritableCrm(Protocol):
    def ensure_group(self, object_type: str, group: dict[str, Any]) -> bool: ...

    def property(self, object_type: str, name: str) -> dict[str, Any] | None: ...

    def create_property(self, object_type: str, spec: dict[str, Any]) -> None: ...

    def update_property(self, object_type: str, name: str, update: dict[str, Any]) -> None: ...

    def batch_update(self, object_type: str, inputs: list[dict[str, Any]]) -> None: ...


@dataclass
class Writeback:
    group_created: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    batches: int = 0
    records: int = 0


def ensure_properties(crm: WritableCrm, definition: ScoreDefinition) -> Writeback:
    """The group and both properties exist and match the definition."""
    result = Writeback(
        group_created=crm.ensure_group(definition.object_type, group_spec(definition))
    )
    for spec in property_specs(definition):
        existing = crm.property(definition.object_type, spec["name"])
        if existing is None:
            crm.create_property(definition.object_type, spec)
            result.created.append(spec["name"])
        elif (update := needs_update(existing, spec)) is not None:
            crm.update_property(definition.object_type, spec["name"], update)
            result.updated.append(spec["name"])
    return result


def write_back(
    crm: WritableCrm, definition: ScoreDefinition, values: Iterable[ScoreValue]
) -> Writeback:
    """Properties first, then the values, coalesced, in batches of ≤ 100."""
    result = ensure_properties(crm, definition)
    for batch in batch_inputs(definition, values):
        crm.batch_update(definition.object_type, batch)
        result.batches += 1
        result.records += len(batch)
    return result
