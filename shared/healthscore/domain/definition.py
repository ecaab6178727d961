"""Score definitions: the JSON contract of DESIGN.md §3 and every validation rule.

`validate_definition(raw)` never raises on user input: it returns the parsed definition (with
ids assigned) or a non-empty list of `Issue(path, message)`, paths written
`groups[0].rules[1].timeframe`. Structure and types are pydantic's job; the rules that relate
fields to each other are checked afterwards, each reported at the field to change.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from healthscore.domain.catalog import is_known_event_type
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
from healthscore.domain.values import as_number, values_equal

SCORE_OBJECT_TYPES = ("companies", "contacts")
RECORD_OBJECT_TYPES = ("companies", "contacts", "deals", "tickets")
_CUSTOM_OBJECT = re.compile(r"custom:[a-z0-9_][a-z0-9_\-]*", re.IGNORECASE)
_SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
UNIT_DAYS = {"days": 1, "weeks": 7, "months": 30}

TimeUnit = Literal["days", "weeks", "months"]
Aggregation = Literal["sum", "avg", "min", "max"]


def is_record_object_type(value: str) -> bool:
    """companies, contacts, deals, tickets or `custom:<name>`."""
    return value in RECORD_OBJECT_TYPES or bool(_CUSTOM_OBJECT.fullmatch(value))


@dataclass(frozen=True, slots=True)
class Issue:
    """One validation problem: where (a field path) and what to do about it."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}

    def __str__(self) -> str:
        return f"{self.path or '(definition)'}: {self.message}"


class DefinitionError(ValueError):
    """A definition (or its use against an account's data) was refused."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))


# Timeframes, decay periods and date windows stay within 100 years, so every engine's day
# arithmetic stays inside the calendar.
MAX_DAYS = 36_500


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Model):
    value: StrictInt
    unit: TimeUnit

    @property
    def days(self) -> int:
        return self.value * UNIT_DAYS[self.unit]

    def describe(self) -> str:
        unit = self.unit[:-1] if self.value == 1 else self.unit
        return f"{self.value} {unit}"


class Decay(_Model):
    percent: StrictInt
    every: Period

    def factor_percent(self, age_days: int) -> int:
        """Whole-percent decay factor of an event `age_days` old (0 = it no longer counts)."""
        return max(0, 100 - self.percent * (age_days // self.every.days))


class Frequency(_Model):
    op: Literal["exactly", "between", "at_least", "at_most"]
    min: StrictInt | None = None
    max: StrictInt | None = None
    include_never: StrictBool = False

    def is_met(self, count: int) -> bool:
        match self.op:
            case "exactly":
                return count == self.min
            case "between":
                return (self.min or 0) <= count <= (self.max or 0)
            case "at_least":
                return count >= (self.min or 0)
            case "at_most":
                return (count >= 1 or self.include_never) and count <= (self.max or 0)

    def describe(self) -> str:
        match self.op:
            case "exactly":
                return f"exactly {_times(self.min)}"
            case "between":
                return f"{self.min}–{_times(self.max)}"
            case "at_least":
                return f"at least {_times(self.min)}"
            case "at_most":
                never = " (or never)" if self.include_never else ""
                return f"at most {_times(self.max)}{never}"


def _times(count: int | None) -> str:
    return f"{count} time{'' if count == 1 else 's'}"


class Association(_Model):
    labels: list[StrictStr] = Field(default_factory=list)
    filters: list[Condition] = Field(default_factory=list)
    aggregation: Aggregation = "sum"

    def admits(self, labels: frozenset[str]) -> bool:
        """An association carrying any of the rule's labels (no labels = any association)."""
        if not self.labels:
            return True
        wanted = {label.lower() for label in self.labels}
        return any(label.lower() in wanted for label in labels)


DEFAULT_ASSOCIATION = Association()


class Rule(_Model):
    id: StrictStr | None = None
    description: StrictStr | None = None
    event_type: StrictStr | None = None
    object: StrictStr | None = None
    points: StrictInt | None = None
    conditions: list[Condition] = Field(default_factory=list)
    timeframe: Period | None = None
    frequency: Frequency | None = None
    limit: StrictInt | None = None
    association: Association | None = None

    @property
    def scored_individually_by(self) -> Condition | None:
        """The condition carrying `points_by_value`, if the rule scores individually."""
        return next((c for c in self.conditions if c.points_by_value is not None), None)

    @property
    def aggregation(self) -> Aggregation:
        return (self.association or DEFAULT_ASSOCIATION).aggregation

    @property
    def target(self) -> str:
        """What a property rule looks at: `self` or an associated object type."""
        return self.object or "self"

    def summary(self) -> str:
        """What the rule looks at, briefly: `call_ended where duration_seconds > 900`."""
        if self.event_type is not None:
            subject = self.event_type
        elif self.target == "self":
            subject = ""
        else:
            subject = self.target
        criteria = " and ".join(describe_condition(c) for c in self.conditions)
        text = f"{subject} where {criteria}" if subject and criteria else subject or criteria
        if self.timeframe:
            text += f" in the last {self.timeframe.describe()}"
        return text

    def describe(self) -> str:
        """The rule in a CSM's words, for breakdowns."""
        if self.scored_individually_by is not None:
            points = "points by value"
        else:
            points = f"{'+' if (self.points or 0) > 0 else ''}{self.points}"
        each = " each" if (self.event_type or self.target != "self") and not self.frequency else ""
        parts = [f"{points}{each}: {self.summary()}"]
        if self.frequency:
            parts.append(self.frequency.describe())
        if self.association and self.association.labels:
            parts.append("via " + " / ".join(self.association.labels))
        if self.association and self.association.filters:
            parts.append(
                "for " + " and ".join(describe_condition(c) for c in self.association.filters)
            )
        if self.aggregation != "sum":
            parts.append(f"{self.aggregation} of matches")
        if self.limit:
            parts.append(f"limit {self.limit}")
        return ", ".join(parts)


_OPERATOR_WORDS = {
    "eq_any": "is",
    "neq_any": "is not",
    "contains_any": "contains",
    "not_contains_any": "does not contain",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
}


def describe_condition(condition: Condition) -> str:
    """`nps_score ≤ 6`, `status is not closed`, `renewal_date in the last 30 days`."""
    subject = condition.property or "record"
    operator = condition.operator
    if operator in KNOWN_OPERATORS:
        return f"{subject} is {'known' if operator is Operator.IS_KNOWN else 'unknown'}"
    if operator in LIST_OPERATORS:
        return f"{'in' if operator is Operator.IN_LIST else 'not in'} list {condition.value}"
    if operator is Operator.BETWEEN:
        low, high = (condition.values or [None, None])[:2]
        return f"{subject} between {low} and {high}"
    if operator is Operator.WITHIN_LAST:
        return f"{subject} in the last {condition.value} days"
    if operator is Operator.MORE_THAN_AGO:
        return f"{subject} more than {condition.value} days ago"
    if operator in ANY_OPERATORS:
        return f"{subject} {_OPERATOR_WORDS[operator]} " + " or ".join(
            str(v) for v in condition.values or ()
        )
    return f"{subject} {_OPERATOR_WORDS[operator]} {condition.value}"


class Group(_Model):
    id: StrictStr | None = None
    name: StrictStr
    kind: Literal["event", "property"]
    max_points: StrictInt
    description: StrictStr | None = None
    decay: Decay | None = None
    rules: list[Rule]


class Threshold(_Model):
    min: StrictInt
    label: StrictStr
    color: StrictStr


class OutputProperty(_Model):
    name: StrictStr
    label: StrictStr | None = None
    description: StrictStr = ""
    group: StrictStr = "customer_success"


class OutputProperties(_Model):
    score: OutputProperty
    status: OutputProperty


class ScoreDefinition(_Model):
    id: StrictStr | None = None
    name: StrictStr
    description: StrictStr | None = None
    state: Literal["draft", "live", "off"] = "draft"
    object_type: Literal["companies", "contacts"]
    segments: list[StrictStr]
    groups: list[Group]
    thresholds: list[Threshold]
    properties: OutputProperties | None = None

    def status_for(self, score: int) -> Threshold:
        """The highest threshold whose `min` is at most the score."""
        return [t for t in self.thresholds if t.min <= score][-1]

    def output_properties(self) -> OutputProperties:
        return self.properties or default_output_properties(self.name)

    def rules(self) -> Iterator[tuple[Group, Rule]]:
        for group in self.groups:
            for rule in group.rules:
                yield group, rule


def default_output_properties(name: str) -> OutputProperties:
    """`Upmarket health score` → `upmarket_health_score` / `upmarket_health_status`."""
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    base = re.sub(r"(_?(health|score))+$", "", base) or "customer"
    if base[0].isdigit():
        base = f"score_{base}"
    title = re.sub(r"(\s*(health|score))+\s*$", "", name.strip(), flags=re.IGNORECASE) or name
    return OutputProperties(
        score=OutputProperty(name=f"{base}_health_score", label=f"{title} health score"),
        status=OutputProperty(name=f"{base}_health_status", label=f"{title} health status"),
    )


# ---------------------------------------------------------------------------------------------
# Validation


def validate_definition(raw: Any) -> tuple[ScoreDefinition | None, list[Issue]]:
    """Parse and check a definition. Returns (definition with ids, []) or (None, issues)."""
    try:
        definition = ScoreDefinition.model_validate(raw)
    except ValidationError as error:
        return None, [_issue_from_pydantic(e) for e in error.errors()]
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


def check_conditions(raw: Any, path: str, *, allow_lists: bool = True) -> list[Issue]:
    """Validate a list of conditions on its own (segments use this)."""
    if not isinstance(raw, list):
        return [Issue(path, "must be a list of conditions")]
    issues: list[Issue] = []
    for index, item in enumerate(raw):
        try:
            condition = Condition.model_validate(item)
        except ValidationError as error:
            issues += [_issue_from_pydantic(e, prefix=f"{path}[{index}]") for e in error.errors()]
            continue
        issues += _check_condition(
            condition, f"{path}[{index}]", allow_lists=allow_lists, allow_points_by_value=False
        )
    return issues


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


def _issue_from_pydantic(error: Any, prefix: str = "") -> Issue:
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
        yield from _check_points(rule.points, f"{path}.points")
    for extra in individually[1:]:
        yield Issue(
            f"{path}.conditions[{extra}].points_by_value",
            f"only one condition per rule may score individually "
            f"(conditions[{individually[0]}] already does)",
        )
    for index, condition in enumerate(rule.conditions):
        yield from _check_condition(
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
        yield from _check_condition(
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


def _check_points(points: int, path: str) -> Iterator[Issue]:
    if points == 0:
        yield Issue(path, "must not be zero")
    elif not -100 <= points <= 100:
        yield Issue(path, f"must be between -100 and 100 (got {points})")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and not (
        isinstance(value, float) and as_number(value) is None
    )


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (as_number(value) is not None)
    )


def _check_condition(
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
            if not _is_scalar(item):
                yield Issue(f"{path}.values[{index}]", "must be a string, number or boolean")
            elif isinstance(item, str) and not item.strip():
                yield Issue(f"{path}.values[{index}]", "must not be empty")
    elif operator in NUMERIC_OPERATORS:
        if not _is_number(condition.value):
            yield Issue(f"{path}.value", f"must be a number for {operator.value}")
        if condition.values is not None:
            yield Issue(f"{path}.values", f"is not used by {operator.value}; use value")
    elif operator is Operator.BETWEEN:
        values = condition.values
        if values is None or len(values) != 2 or not all(_is_number(v) for v in values):
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
        yield from _check_points(points, key_path)
        named = [
            i for i, value in enumerate(values) if _is_scalar(value) and values_equal(key, value)
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
