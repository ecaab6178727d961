"""What a record's score state is set to, and the status change it can announce: one shape for
every path that writes scores (incremental scorer, sweep, recompute)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.tallies import TallyScore
from healthscore.domain.values import points_json


@dataclass(frozen=True, slots=True)
class NewScore:
    """What a state is set to: from a tally or from the batch engine."""

    score: int
    status: str
    color: str
    groups: dict[str, int | float]  # group name → points
    rules: dict[str, int | float]  # "group / rule" → points
    next_change_day: date | None

    @classmethod
    def from_tally(cls, definition: ScoreDefinition, result: TallyScore) -> NewScore:
        rules: dict[str, int | float] = {}
        for group, total in zip(definition.groups, result.groups, strict=True):
            for rule, rule_total in zip(group.rules, total.rules, strict=True):
                rules[rule_name(group.name, rule.id, rule.summary())] = points_json(
                    rule_total.hundredths
                )
        return cls(
            result.score,
            result.status,
            result.color,
            {g.name: points_json(g.hundredths) for g in result.groups},
            rules,
            result.next_change_day,
        )


def rule_name(group: str, rule_id: str | None, summary: str) -> str:
    return f"{group} / {rule_id or summary}"


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The detail of EventBridge's `Health status changed` event."""

    account_id: str
    definition_id: str
    object_type: str
    record_id: str
    score_before: int | None
    score_after: int | None
    status_before: str | None
    status_after: str | None
    at: str
    cause: dict[str, Any]

    def detail(self) -> dict[str, Any]:
        return asdict(self)
