"""Conditions: the criteria of rules, association filters and segments
(docs/definition-reference.md).

One `Condition` type serves all three; `holds` is the single definition of what each operator
means, and `boundary_days` says on which future days a date-relative condition can flip.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable, Mapping
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from healthscore.domain.values import (
    as_day,
    as_number,
    is_missing,
    text_contains,
    values_equal,
)


class Operator(StrEnum):
    EQ_ANY = "eq_any"
    NEQ_ANY = "neq_any"
    CONTAINS_ANY = "contains_any"
    NOT_CONTAINS_ANY = "not_contains_any"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    IS_KNOWN = "is_known"
    IS_UNKNOWN = "is_unknown"
    WITHIN_LAST = "within_last"
    MORE_THAN_AGO = "more_than_ago"
    IN_LIST = "in_list"
    NOT_IN_LIST = "not_in_list"


ANY_OPERATORS = frozenset(
    {Operator.EQ_ANY, Operator.NEQ_ANY, Operator.CONTAINS_ANY, Operator.NOT_CONTAINS_ANY}
)
NUMERIC_OPERATORS = frozenset({Operator.GT, Operator.GTE, Operator.LT, Operator.LTE})
DATE_OPERATORS = frozenset({Operator.WITHIN_LAST, Operator.MORE_THAN_AGO})
LIST_OPERATORS = frozenset({Operator.IN_LIST, Operator.NOT_IN_LIST})
KNOWN_OPERATORS = frozenset({Operator.IS_KNOWN, Operator.IS_UNKNOWN})
# The operators that hold on a missing property (everything else fails on it).
TRUE_WHEN_MISSING = frozenset({Operator.IS_UNKNOWN, Operator.NEQ_ANY, Operator.NOT_CONTAINS_ANY})
# The operators "score individually" may sit on.
POINTS_BY_VALUE_OPERATORS = frozenset({Operator.EQ_ANY, Operator.CONTAINS_ANY})


class Condition(BaseModel):
    """`{"property", "operator", "value" | "values", "points_by_value"?}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    property: StrictStr | None = None
    operator: Operator
    value: Any = None
    values: list[Any] | None = None
    points_by_value: dict[str, StrictInt] | None = None

    @builtins.property  # the field `property` shadows the builtin in this class body
    def is_date_relative(self) -> bool:
        return self.operator in DATE_OPERATORS

    def holds(self, properties: Mapping[str, Any], lists: Collection[str], today: date) -> bool:
        """Whether the condition is true of a record or event with these properties."""
        if self.operator in LIST_OPERATORS:
            member = str(self.value) in lists
            return member if self.operator is Operator.IN_LIST else not member
        raw = properties.get(self.property or "")
        if is_missing(raw):
            return self.operator in TRUE_WHEN_MISSING
        elements = [e for e in (raw if isinstance(raw, list) else [raw]) if not is_missing(e)]
        match self.operator:
            case Operator.IS_KNOWN:
                return True
            case Operator.IS_UNKNOWN:
                return False
            case Operator.NEQ_ANY | Operator.NOT_CONTAINS_ANY:
                return not self._matched_positions(elements)
            case Operator.EQ_ANY | Operator.CONTAINS_ANY:
                return bool(self._matched_positions(elements))
            case _:
                return any(self._element_holds(e, today) for e in elements)

    def matched_values(self, properties: Mapping[str, Any]) -> list[int]:
        """Positions in `values` the property matches (for scoring individually)."""
        raw = properties.get(self.property or "")
        if is_missing(raw):
            return []
        elements = [e for e in (raw if isinstance(raw, list) else [raw]) if not is_missing(e)]
        return self._matched_positions(elements)

    def _matched_positions(self, elements: list[Any]) -> list[int]:
        compare = (
            text_contains
            if self.operator in (Operator.CONTAINS_ANY, Operator.NOT_CONTAINS_ANY)
            else values_equal
        )
        return [
            position
            for position, wanted in enumerate(self.values or ())
            if any(compare(element, wanted) for element in elements)
        ]

    def _element_holds(self, element: Any, today: date) -> bool:
        if self.operator in DATE_OPERATORS:
            day = as_day(element)
            return day is not None and self.holds_on_days((day,), today)
        number = as_number(element)
        if number is None:
            return False
        match self.operator:
            case Operator.GT:
                return bool(number > self.value)
            case Operator.GTE:
                return bool(number >= self.value)
            case Operator.LT:
                return bool(number < self.value)
            case Operator.LTE:
                return bool(number <= self.value)
            case Operator.BETWEEN:
                low, high = self.values or (0, 0)
                return bool(low <= number <= high)
        raise AssertionError(f"unhandled operator {self.operator}")  # validation forbids this

    def days_of(self, properties: Mapping[str, Any]) -> tuple[date, ...]:
        """The days a date-relative condition reads from these properties (one per element
        that is a date; none when missing or unreadable)."""
        raw = properties.get(self.property or "")
        if is_missing(raw):
            return ()
        days = (as_day(element) for element in (raw if isinstance(raw, list) else [raw]))
        return tuple(day for day in days if day is not None)

    def holds_on_days(self, days: Iterable[date], today: date) -> bool:
        """A date-relative condition on a property whose elements are these days."""
        for day in days:
            days_ago = (today - day).days
            if self.operator is Operator.WITHIN_LAST and 0 <= days_ago < self.value:
                return True
            if self.operator is Operator.MORE_THAN_AGO and days_ago > self.value:
                return True
        return False

    def flip_days(self, days: Iterable[date], today: date) -> Iterable[date]:
        """Future days on which a date-relative condition on these days can change its truth:
        `within_last N` starts holding on the day and stops N days later; `more_than_ago N`
        starts N + 1 days after it."""
        for day in days:
            flips: tuple[date, ...]
            try:
                if self.operator is Operator.WITHIN_LAST:
                    flips = (day, day + timedelta(days=self.value))
                else:
                    flips = (day + timedelta(days=self.value + 1),)
            except OverflowError:
                continue
            yield from (flip for flip in flips if flip > today)

    def boundary_days(self, properties: Mapping[str, Any], today: date) -> Iterable[date]:
        """Future days on which this date-relative condition can change its truth."""
        if self.operator not in DATE_OPERATORS:
            return ()
        return self.flip_days(self.days_of(properties), today)


def all_hold(
    conditions: Iterable[Condition],
    properties: Mapping[str, Any],
    lists: Collection[str],
    today: date,
) -> bool:
    """Conditions are AND-ed."""
    return all(condition.holds(properties, lists, today) for condition in conditions)


def static_conditions_hold(
    conditions: Iterable[Condition],
    properties: Mapping[str, Any],
    lists: Collection[str],
    today: date,
) -> bool:
    """Whether the conditions that do not depend on the day hold (date ones are skipped)."""
    return all_hold((c for c in conditions if not c.is_date_relative), properties, lists, today)


def boundary_days(
    conditions: Iterable[Condition], properties: Mapping[str, Any], today: date
) -> Iterable[date]:
    """Future days on which any of these conditions can flip, for one record or event."""
    for condition in conditions:
        yield from condition.boundary_days(properties, today)


__all__ = [
    "ANY_OPERATORS",
    "DATE_OPERATORS",
    "KNOWN_OPERATORS",
    "LIST_OPERATORS",
    "NUMERIC_OPERATORS",
    "POINTS_BY_VALUE_OPERATORS",
    "Condition",
    "Operator",
    "all_hold",
    "boundary_days",
    "static_conditions_hold",
]
