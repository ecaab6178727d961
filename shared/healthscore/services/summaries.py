"""Summaries of scored records: a record's breakdown, a portfolio's distribution, medians."""

from __future__ import annotations

from collections import Counter
from typing import Any

from healthscore.adapters.score_files import score_row
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.reference_engine import RecordScore
from healthscore.domain.values import points_json


def breakdown(result: RecordScore) -> dict[str, Any]:
    """A record's score as JSON: groups and rules with what each earned and why."""
    return {
        **score_row(result),
        "next_change_day": result.next_change_day.isoformat() if result.next_change_day else None,
        "groups": [
            {
                "name": group.name,
                "points": points_json(group.hundredths),
                "max_points": group.max_points,
                "cap_applied": group.cap_applied,
                "rules": [
                    {
                        "id": rule.rule_id,
                        "description": rule.description,
                        "points": points_json(rule.hundredths),
                        "matched": rule.matched,
                        "limit_applied": rule.limit_applied,
                        "frequency_met": rule.frequency_met,
                        "events": [e.event_id for e in rule.events],
                        "records": [f"{m.object_type}/{m.record_id}" for m in rule.records],
                    }
                    for rule in group.rules
                ],
            }
            for group in result.groups
        ],
    }


def distribution(definition: ScoreDefinition, results: list[RecordScore]) -> dict[str, Any]:
    """Counts per 5-point bin and per status (threshold order, best first)."""
    bins = Counter(min(r.score // 5, 19) for r in results)
    statuses = Counter(r.status for r in results)
    return {
        "scored": len(results),
        "average": round(sum(r.score for r in results) / len(results), 1) if results else None,
        "median": median([r.score for r in results]),
        "bins": [
            {"from": 5 * b, "to": 5 * b + 4 if b < 19 else 100, "count": bins.get(b, 0)}
            for b in range(20)
        ],
        "statuses": [
            {"status": t.label, "color": t.color, "min": t.min, "count": statuses.get(t.label, 0)}
            for t in reversed(definition.thresholds)
        ],
    }


def median(values: list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2
