"""Validating score definitions: every rule of the definition contract, each reported at the
field to change.

`validate_definition(raw)` never raises on user input: it returns the parsed definition (with
ids assigned) or a non-empty list of `Issue(path, message)`, paths written
`groups[0].rules[1].timeframe`. Structure and types are pydantic's job; the rules that relate
fields to each other are checked afterwards.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from healthscore.domain.catalog import is_known_event_type
from healthscore.domain.condition_checks import (
    check_condition,
    check_points,
    issue_from_pydantic,
)
from healthscore.domain.definition import (
    MAX_COMPARE_DAYS,
    MAX_DAYS,
    MAX_FRESHNESS_RULES,
    Association,
    DefinitionError,
    Frequency,
    Group,
    Issue,
    OutputProperties,
    OutputProperty,
    Rule,
    ScoreDefinition,
    Threshold,
    is_record_object_type,
)

_SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def validate_definition(raw: Any) -> tuple[ScoreDefinition | None, list[Issue]]:
    """Parse and check a definition. Returns (definition with ids, []) or (None, issues)."""
    try:
        definition = ScoreDefinition.model_validate(raw)
    except ValidationError as error:
        return None, [issue_from_pydantic(e) for e in error.errors()]
    issues = list(_check_definition(definition))
    if issues:
        return None, issues
    return assign_ids(definition), []


def parse_definition(raw: Any) -> ScoreDefinition:
    """The definition, or DefinitionError with every issue."""
    definition, issues = validate_definition(raw)
    if definition is None:
        raise DefinitionError(issues)
    return definition


def assign_ids(definition: ScoreDefinition) -> ScoreDefinition:
    """Give the definition, its groups and rules an id where they have none (kept otherwise)."""
    groups = [
        group.model_copy(
            update={
                "id": group.id or _new_id("grp"),
                "rules": [
                    r.model_copy(update={"id": r.id or _new_id("rule")}) for r in group.rules
                ],
            }
        )
        for group in definition.groups
    ]
    return definition.model_copy(update={"id": definition.id or _new_id("def"), "groups": groups})


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _check_definition(definition: ScoreDefinition) -> Iterator[Issue]:
    name = definition.name.strip()
    if not name:
        yield Issue("name", "must not be empty")
    elif len(definition.name) > 100:
        yield Issue("name", f"must be at most 100 characters (it has {len(definition.name)})")

    segments = definition.segments
    if not 1 <= len(segments) <= 5:
        yield Issue("segments", f"must list 1 to 5 segments (it lists {len(segments)})")
    seen_segments: dict[str, int] = {}
    for index, segment in enumerate(segments):
        if not segment.strip():
            yield Issue(f"segments[{index}]", "must be a segment id, not empty")
        elif segment in seen_segments:
            yield Issue(f"segments[{index}]", f"repeats segments[{seen_segments[segment]}]")
        else:
            seen_segments[segment] = index

    if not 1 <= len(definition.groups) <= 20:
        yield Issue("groups", f"must hold 1 to 20 groups (it holds {len(definition.groups)})")
    group_names: dict[str, int] = {}
    for index, group in enumerate(definition.groups):
        key = group.name.strip().lower()
        if key in group_names:
            yield Issue(
                f"groups[{index}].name",
                f"{group.name!r} is already the name of groups[{group_names[key]}]; "
                "group names must be unique",
            )
        else:
            group_names[key] = index
        yield from _check_group(group, f"groups[{index}]", definition.object_type)

    yield from _check_thresholds(definition.thresholds)
    if definition.properties is not None:
        yield from _check_output_properties(definition.properties)
    if definition.card is not None and not 1 <= definition.card.compare_days <= MAX_COMPARE_DAYS:
        yield Issue(
            "card.compare_days",
            f"must be a number of days from 1 to {MAX_COMPARE_DAYS} "
            f"(got {definition.card.compare_days})",
        )
    yield from _check_freshness(definition)


def _check_freshness(definition: ScoreDefinition) -> Iterator[Issue]:
    rules = definition.freshness
    if len(rules) > MAX_FRESHNESS_RULES:
        yield Issue(
            "freshness", f"must hold at most {MAX_FRESHNESS_RULES} rules (it holds {len(rules)})"
        )
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        path = f"freshness[{index}]"
        if not rule.property.strip() or len(rule.property) > 100:
            yield Issue(
                f"{path}.property", "must name a property of the scored record (1–100 characters)"
            )
        elif rule.property in seen:
            yield Issue(f"{path}.property", f"repeats freshness[{seen[rule.property]}]")
        else:
            seen[rule.property] = index
        if rule.max_age.value < 1:
            yield Issue(f"{path}.max_age.value", "must be an integer of at least 1")
        elif rule.max_age.days > MAX_DAYS:
            yield Issue(f"{path}.max_age", f"must be at most {MAX_DAYS} days (100 years)")


def _check_group(group: Group, path: str, object_type: str) -> Iterator[Issue]:
    if not group.name.strip():
        yield Issue(f"{path}.name", "must not be empty")
    elif len(group.name) > 100:
        yield Issue(f"{path}.name", "must be at most 100 characters")
    if not 1 <= group.max_points <= 100:
        yield Issue(
            f"{path}.max_points", f"must be an integer from 1 to 100 (got {group.max_points})"
        )
    if not 1 <= len(group.rules) <= 50:
        yield Issue(f"{path}.rules", f"must hold 1 to 50 rules (it holds {len(group.rules)})")
    if group.decay is not None:
        if group.kind != "event":
            yield Issue(f"{path}.decay", "decay is only allowed on event groups")
        if not 1 <= group.decay.percent <= 100:
            yield Issue(f"{path}.decay.percent", "must be an integer from 1 to 100")
        if group.decay.every.value < 1:
            yield Issue(f"{path}.decay.every.value", "must be an integer of at least 1")
        elif group.decay.every.days > MAX_DAYS:
            yield Issue(f"{path}.decay.every", f"must be at most {MAX_DAYS} days (100 years)")
    for index, rule in enumerate(group.rules):
        yield from _check_rule(rule, f"{path}.rules[{index}]", group, object_type)


def _check_rule(rule: Rule, path: str, group: Group, object_type: str) -> Iterator[Issue]:
    is_event = group.kind == "event"
    if is_event:
        yield from _check_event_rule_fields(rule, path, group, object_type)
    else:
        yield from _check_property_rule_fields(rule, path, object_type)

    individually = [i for i, c in enumerate(rule.conditions) if c.points_by_value is not None]
    if rule.points is None and not individually:
        yield Issue(f"{path}.points", "is required (or score individually with points_by_value)")
    elif rule.points is not None:
        yield from check_points(rule.points, f"{path}.points")
    for extra in individually[1:]:
        yield Issue(
            f"{path}.conditions[{extra}].points_by_value",
            f"only one condition per rule may score individually "
            f"(conditions[{individually[0]}] already does)",
        )
    for index, condition in enumerate(rule.conditions):
        yield from check_condition(
            condition,
            f"{path}.conditions[{index}]",
            # List membership is a record's; events are not in lists.
            allow_lists=not is_event,
            allow_points_by_value=True,
        )
        if condition.points_by_value is not None and rule.frequency is not None:
            yield Issue(
                f"{path}.conditions[{index}].points_by_value",
                "cannot be used in a rule with a frequency (it earns its points once)",
            )

    if rule.limit is not None:
        if rule.limit < 1:
            yield Issue(f"{path}.limit", "must be an integer of at least 1")
        if rule.frequency is not None:
            yield Issue(f"{path}.limit", "a rule with a frequency has no limit")


def _check_event_rule_fields(
    rule: Rule, path: str, group: Group, object_type: str
) -> Iterator[Issue]:
    if rule.object is not None:
        yield Issue(f"{path}.object", "is only for property rules; this is an event group")
    if rule.event_type is None:
        yield Issue(f"{path}.event_type", "is required on event rules")
    elif not is_known_event_type(rule.event_type):
        yield Issue(
            f"{path}.event_type",
            f"{rule.event_type!r} is not in the event catalog; use a catalog type, "
            "custom:<name> or timeline:<app>:<name>",
        )
    if group.decay is not None:
        for field in ("timeframe", "frequency"):
            if getattr(rule, field) is not None:
                yield Issue(
                    f"{path}.{field}",
                    f"is not allowed because the group decays (decay replaces {field}s); "
                    "remove it or the group's decay",
                )
    if rule.timeframe is not None and rule.timeframe.value < 1:
        yield Issue(f"{path}.timeframe.value", "must be an integer of at least 1")
    elif rule.timeframe is not None and rule.timeframe.days > MAX_DAYS:
        yield Issue(f"{path}.timeframe", f"must be at most {MAX_DAYS} days (100 years)")
    if rule.frequency is not None:
        yield from _check_frequency(rule.frequency, f"{path}.frequency")
        if rule.association is not None and rule.association.aggregation != "sum":
            yield Issue(
                f"{path}.association.aggregation",
                "must be sum in a rule with a frequency (it counts events)",
            )
    if rule.association is not None:
        if object_type == "contacts":
            for field in ("labels", "filters"):
                if getattr(rule.association, field):
                    yield Issue(
                        f"{path}.association.{field}",
                        "a contacts score's event rules count the contact's own events; "
                        "their association may only set aggregation",
                    )
        yield from _check_association(rule.association, f"{path}.association")


def _check_property_rule_fields(rule: Rule, path: str, object_type: str) -> Iterator[Issue]:
    for field in ("event_type", "timeframe", "frequency"):
        if getattr(rule, field) is not None:
            yield Issue(f"{path}.{field}", "is only for event rules; this is a property group")
    target = rule.target
    if target != "self" and not is_record_object_type(target):
        yield Issue(
            f"{path}.object",
            f"{target!r} must be self, contacts, companies, deals, tickets or custom:<name>",
        )
    elif target == object_type:
        yield Issue(
            f"{path}.object",
            f"a {object_type} score reads its own properties with object self, not {target!r}",
        )
    if rule.association is not None:
        if target == "self":
            yield Issue(
                f"{path}.association",
                "object self reads the record's own properties; an association needs an "
                "associated object type",
            )
        yield from _check_association(rule.association, f"{path}.association")


def _check_association(association: Association, path: str) -> Iterator[Issue]:
    for index, label in enumerate(association.labels):
        if not label.strip():
            yield Issue(f"{path}.labels[{index}]", "must not be empty")
    for index, condition in enumerate(association.filters):
        yield from check_condition(
            condition, f"{path}.filters[{index}]", allow_lists=True, allow_points_by_value=False
        )


def _check_frequency(frequency: Frequency, path: str) -> Iterator[Issue]:
    needs = {
        "exactly": ("min",),
        "between": ("min", "max"),
        "at_least": ("min",),
        "at_most": ("max",),
    }[frequency.op]
    for field in ("min", "max"):
        value = getattr(frequency, field)
        if field in needs:
            if value is None:
                yield Issue(f"{path}.{field}", f"is required for op {frequency.op}")
            elif value < 1:
                yield Issue(f"{path}.{field}", "must be an integer of at least 1")
        elif value is not None:
            yield Issue(f"{path}.{field}", f"is not used by op {frequency.op}; remove it")
    if (
        frequency.op == "between"
        and frequency.min is not None
        and frequency.max is not None
        and frequency.min > frequency.max
    ):
        yield Issue(f"{path}.max", f"must be at least min ({frequency.min})")
    if frequency.include_never and frequency.op != "at_most":
        yield Issue(f"{path}.include_never", "only applies to op at_most")


def _check_thresholds(thresholds: list[Threshold]) -> Iterator[Issue]:
    if not 1 <= len(thresholds) <= 10:
        yield Issue("thresholds", f"must hold 1 to 10 thresholds (it holds {len(thresholds)})")
        if not thresholds:
            return
    if thresholds[0].min != 0:
        yield Issue("thresholds[0].min", "the first threshold must start at 0")
    labels: dict[str, int] = {}
    for index, threshold in enumerate(thresholds):
        path = f"thresholds[{index}]"
        if not 0 <= threshold.min <= 100:
            yield Issue(f"{path}.min", "must be between 0 and 100")
        if index and threshold.min <= thresholds[index - 1].min:
            yield Issue(
                f"{path}.min",
                f"must be greater than thresholds[{index - 1}].min ({thresholds[index - 1].min})",
            )
        key = threshold.label.strip().lower()
        if not key:
            yield Issue(f"{path}.label", "must not be empty")
        elif key in labels:
            yield Issue(f"{path}.label", f"repeats thresholds[{labels[key]}].label")
        else:
            labels[key] = index
        if not _COLOUR.fullmatch(threshold.color):
            yield Issue(f"{path}.color", f"{threshold.color!r} must be a colour like #2e9d5b")


def _check_output_properties(properties: OutputProperties) -> Iterator[Issue]:
    for field in ("score", "status"):
        prop: OutputProperty = getattr(properties, field)
        if not _SNAKE_CASE.fullmatch(prop.name):
            yield Issue(
                f"properties.{field}.name",
                f"{prop.name!r} must be lowercase snake_case (e.g. upmarket_health_{field})",
            )
        if prop.label is not None and not prop.label.strip():
            yield Issue(f"properties.{field}.label", "must not be empty")
    if properties.score.name == properties.status.name:
        yield Issue("properties.status.name", "must differ from properties.score.name")
