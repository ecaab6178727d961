"""The arithmetic of points, shared by every engine: hundredths of a point, half-up division,
clamping, a rule's base points (or its value's points), aggregation of matches and the limit.
All of it is exact integer arithmetic; every rounding is half away from zero."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from healthscore.domain.conditions import (
    Condition,
)
from healthscore.domain.definition import (
    Aggregation,
    Rule,
)
from healthscore.domain.values import values_equal

HUNDREDTHS = 100


def to_points(hundredths: int) -> Decimal:
    return Decimal(hundredths) / HUNDREDTHS


def divide_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding half away from zero (decimal.ROUND_HALF_UP)."""
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def base_points(rule: Rule, properties: Mapping[str, Any]) -> int:
    """`points`, or — scoring individually — the points of every value the property matches."""
    condition = rule.scored_individually_by
    if condition is None:
        return rule.points or 0
    points = points_by_position(condition)
    return sum(points[i] for i in condition.matched_values(properties))


def points_by_position(condition: Condition) -> list[int]:
    """The points of each of `values`, from the `points_by_value` key that names it."""
    keyed = condition.points_by_value or {}
    return [
        next(points for key, points in keyed.items() if values_equal(key, value))
        for value in condition.values or ()
    ]


def aggregate(values: list[int], how: Aggregation) -> int:
    """sum / avg (rounded to hundredths) / min / max of per-event or per-record points."""
    return aggregate_counted([(value, 1) for value in values], how)


def aggregate_counted(weighted: Sequence[tuple[int, int]], how: Aggregation) -> int:
    """`aggregate` over (points, how many times) pairs: what tallies and group-bys hold."""
    counted = [(value, count) for value, count in weighted if count > 0]
    if not counted:
        return 0
    match how:
        case "sum":
            return sum(value * count for value, count in counted)
        case "avg":
            total = sum(value * count for value, count in counted)
            return divide_half_up(total, sum(count for _value, count in counted))
        case "min":
            return min(value for value, _count in counted)
        case "max":
            return max(value for value, _count in counted)


def apply_limit(value: int, limit: int | None) -> int:
    """A rule's `limit` caps it to ±limit points."""
    if limit is None:
        return value
    return clamp(value, -limit * HUNDREDTHS, limit * HUNDREDTHS)
