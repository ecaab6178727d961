"""Validating conditions (of rules and of segments): operators, values and the points a value
earns, each problem reported at its field path; and pydantic's errors in the same words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from healthscore.domain.conditions import (
    ANY_OPERATORS,
    DATE_OPERATORS,
    KNOWN_OPERATORS,
    LIST_OPERATORS,
    NUMERIC_OPERATORS,
    POINTS_BY_VALUE_OPERATORS,
    Condition,
    Operator,
)
from healthscore.domain.definition import MAX_DAYS, Issue
from healthscore.domain.values import as_number, values_equal


def check_conditions(raw: Any, path: str, *, allow_lists: bool = True) -> list[Issue]:
    """Validate a list of conditions on its own (segments use this)."""
    if not isinstance(raw, list):
        return [Issue(path, "must be a list of conditions")]
    issues: list[Issue] = []
    for index, item in enumerate(raw):
        try:
            condition = Condition.model_validate(item)
        except ValidationError as error:
            issues += [issue_from_pydantic(e, prefix=f"{path}[{index}]") for e in error.errors()]
            continue
        issues += check_condition(
            condition, f"{path}[{index}]", allow_lists=allow_lists, allow_points_by_value=False
        )
    return issues


_PYDANTIC_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def issue_from_pydantic(error: Any, prefix: str = "") -> Issue:
    path = prefix
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            continue
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            path += f".{part}" if path else str(part)
        else:
            path += f"[{_quote(str(part))}]"
    kind = error["type"]
    if kind in ("literal_error", "enum"):
        message = f"must be one of {error.get('ctx', {}).get('expected', '')}"
    elif kind in ("model_type", "model_attributes_type") and not error["loc"] and not prefix:
        message = "the definition must be a JSON object"
    else:
        message = _PYDANTIC_MESSAGES.get(kind, error["msg"])
    return Issue(path, message)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and not (
        isinstance(value, float) and as_number(value) is None
    )


def is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (as_number(value) is not None)
    )


def check_condition(
    condition: Condition, path: str, *, allow_lists: bool, allow_points_by_value: bool
) -> Iterator[Issue]:
    operator = condition.operator
    if operator in LIST_OPERATORS:
        if not allow_lists:
            yield Issue(
                f"{path}.operator",
                f"{operator.value} tests a record's list membership; events are not in lists",
            )
        list_id = condition.value
        if (
            isinstance(list_id, bool)
            or not isinstance(list_id, str | int)
            or not str(list_id).strip()
        ):
            yield Issue(f"{path}.value", f"must be a list id for {operator.value}")
        if condition.values is not None:
            yield Issue(f"{path}.values", f"is not used by {operator.value}; use value")
    else:
        if condition.property is None:
            yield Issue(f"{path}.property", f"is required for {operator.value}")
        elif not condition.property.strip():
            yield Issue(f"{path}.property", "must not be empty")

    if operator in ANY_OPERATORS:
        if condition.value is not None:
            yield Issue(f"{path}.value", f"is not used by {operator.value}; use values (a list)")
        if not condition.values:
            yield Issue(f"{path}.values", f"must be a non-empty list for {operator.value}")
        for index, item in enumerate(condition.values or ()):
            if not is_scalar(item):
                yield Issue(f"{path}.values[{index}]", "must be a string, number or boolean")
            elif isinstance(item, str) and not item.strip():
                yield Issue(f"{path}.values[{index}]", "must not be empty")
    elif operator in NUMERIC_OPERATORS:
        if not is_number(condition.value):
            yield Issue(f"{path}.value", f"must be a number for {operator.value}")
        if condition.values is not None:
            yield Issue(f"{path}.values", f"is not used by {operator.value}; use value")
    elif operator is Operator.BETWEEN:
        values = condition.values
        if values is None or len(values) != 2 or not all(is_number(v) for v in values):
            yield Issue(f"{path}.values", "must be exactly two numbers [low, high] for between")
        elif values[0] > values[1]:
            yield Issue(f"{path}.values", "the first number (low) must not exceed the second")
        if condition.value is not None:
            yield Issue(f"{path}.value", "is not used by between; use values [low, high]")
    elif operator in KNOWN_OPERATORS:
        for field in ("value", "values"):
            if getattr(condition, field) is not None:
                yield Issue(f"{path}.{field}", f"is not used by {operator.value}; remove it")
    elif operator in DATE_OPERATORS:
        value = condition.value
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
            yield Issue(
                f"{path}.value",
                f"must be a whole number of days from 1 to {MAX_DAYS} for {operator.value}",
            )
        if condition.values is not None:
            yield Issue(f"{path}.values", f"is not used by {operator.value}; use value")

    if condition.points_by_value is not None:
        if not allow_points_by_value:
            yield Issue(f"{path}.points_by_value", "is only allowed in a rule's conditions")
        elif operator not in POINTS_BY_VALUE_OPERATORS:
            yield Issue(
                f"{path}.points_by_value",
                f"scoring individually needs eq_any or contains_any, not {operator.value}",
            )
        else:
            yield from _check_points_by_value(condition, path)


def _check_points_by_value(condition: Condition, path: str) -> Iterator[Issue]:
    values = condition.values or []
    keys = condition.points_by_value or {}
    named_by: dict[int, list[str]] = {i: [] for i in range(len(values))}
    for key, points in keys.items():
        key_path = f"{path}.points_by_value[{_quote(key)}]"
        yield from check_points(points, key_path)
        named = [
            i for i, value in enumerate(values) if is_scalar(value) and values_equal(key, value)
        ]
        if not named:
            yield Issue(key_path, f"{key!r} is not one of the condition's values")
        elif len(named) > 1:
            yield Issue(
                key_path,
                f"{key!r} names several values ("
                + ", ".join(f"values[{i}]" for i in named)
                + "); values scored individually must be distinct",
            )
        for index in named:
            named_by[index].append(key)
    for index, keys_for_value in named_by.items():
        if not keys_for_value:
            yield Issue(
                f"{path}.values[{index}]", f"{values[index]!r} has no points in points_by_value"
            )
        elif len(keys_for_value) > 1:
            yield Issue(
                f"{path}.values[{index}]",
                f"{values[index]!r} is named by several points_by_value keys: "
                + ", ".join(repr(k) for k in keys_for_value),
            )


def check_points(points: int, path: str) -> Iterator[Issue]:
    if points == 0:
        yield Issue(path, "must not be zero")
    elif not -100 <= points <= 100:
        yield Issue(path, f"must be between -100 and 100 (got {points})")
