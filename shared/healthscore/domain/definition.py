"""Score definitions: the model of the definition contract (groups, rules, thresholds, output
properties) and how each part reads in words. domain/validation.py checks them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)

from healthscore.domain.conditions import (
    ANY_OPERATORS,
    KNOWN_OPERATORS,
    LIST_OPERATORS,
    Condition,
    Operator,
)

SCORE_OBJECT_TYPES = ("companies", "contacts")
RECORD_OBJECT_TYPES = ("companies", "contacts", "deals", "tickets")
_CUSTOM_OBJECT = re.compile(r"custom:[a-z0-9_][a-z0-9_\-]*", re.IGNORECASE)
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


DEFAULT_COMPARE_DAYS = 30
MAX_COMPARE_DAYS = 365


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


class Card(_Model):
    """How the health card presents the score: the window its trend compares over."""

    compare_days: StrictInt = DEFAULT_COMPARE_DAYS


class Freshness(_Model):
    """A hand-typed input that must be kept up to date: stale once `max_age` has passed since
    its last change (or when it was never set)."""

    property: StrictStr
    max_age: Period


MAX_FRESHNESS_RULES = 10


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
    card: Card | None = None
    freshness: list[Freshness] = []

    @property
    def compare_days(self) -> int:
        """The health card's trend window, in days (`card.compare_days`, else 30)."""
        return self.card.compare_days if self.card is not None else DEFAULT_COMPARE_DAYS

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
