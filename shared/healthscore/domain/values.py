"""How property values are read: missing values, numeric strings, equality, text and dates.

CRM webhooks send everything as strings, exports send JSON scalars; one coercion
(docs/definition-reference.md) serves both so every engine compares values the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

EPOCH = date(1970, 1, 1)
_DIGITS = re.compile(r"[0-9]+")
_MS_PER_DAY = 86_400_000


def is_missing(value: Any) -> bool:
    """Absent, null, "" or [] — a missing property fails every operator but three."""
    return value is None or (isinstance(value, str | list) and len(value) == 0)


def as_number(value: Any) -> float | None:
    """A JSON number or a numeric string (what `float()` accepts, finite), else None.

    Booleans are not numbers: `true` compares as the text "true".
    """
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def as_text(value: Any) -> str:
    """The text a value is compared as when it is not numeric (case folded by callers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


MISSING_TEXT = "(unknown)"  # how reports show a record whose property has no value


def display_text(value: Any) -> str | None:
    """A property value as a report shows it: lists joined with ", "; missing → None."""
    elements = value if isinstance(value, list) else [value]
    shown = [as_text(e) for e in elements if not is_missing(e)]
    return ", ".join(shown) if shown else None


def values_equal(left: Any, right: Any) -> bool:
    """Numeric when both sides are numbers or numeric strings, else case-insensitive text."""
    left_number, right_number = as_number(left), as_number(right)
    if left_number is not None and right_number is not None:
        return left_number == right_number
    return as_text(left).lower() == as_text(right).lower()


def text_contains(haystack: Any, needle: Any) -> bool:
    """Case-insensitive substring test."""
    return as_text(needle).lower() in as_text(haystack).lower()


def day_from_epoch_ms(milliseconds: int) -> date | None:
    """The UTC day of an epoch-milliseconds instant (None outside the calendar's range)."""
    try:
        return EPOCH + timedelta(days=milliseconds // _MS_PER_DAY)
    except OverflowError:
        return None


def as_day(value: Any) -> date | None:
    """The UTC day of a date-like value, or None when it cannot be read as one.

    An integer or a digit-only string is epoch milliseconds; anything else must be an ISO-8601
    date or datetime, read as UTC when it carries no offset.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return day_from_epoch_ms(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _DIGITS.fullmatch(text):
        return day_from_epoch_ms(int(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.date()
    try:
        return moment.astimezone(UTC).date()
    except OverflowError:
        return None


def parse_instant(value: Any) -> datetime | None:
    """An event's `occurred_at`: ISO-8601 with an offset, or epoch milliseconds; else None.

    A datetime without a zone is refused (None): the instant would be ambiguous.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int):
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
        except OverflowError:
            return None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def utc_day(moment: datetime) -> date:
    """`day(x)` of docs/scoring-semantics.md: the UTC calendar date of an aware instant."""
    return moment.astimezone(UTC).date()


def parse_as_of(text: str) -> datetime:
    """The as-of instant from an ISO date or datetime (no offset = UTC).

    Raises ValueError with a message a person can act on.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO-8601 date or datetime (e.g. 2026-11-22 or "
            "2026-11-22T09:30:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


HUNDREDTHS_PER_POINT = 100


def points_json(hundredths: int) -> int | float:
    """A group total as a JSON number: an integer when whole, else at most two decimals."""
    whole, rest = divmod(hundredths, HUNDREDTHS_PER_POINT)
    if rest == 0:
        return whole
    return round(hundredths / HUNDREDTHS_PER_POINT, 2)


# What a person calls a record, by object type: the first of these that has a value (the
# properties of one entry joined with a space), else None. Other object types use `name`.
NAME_PROPERTIES: dict[str, tuple[tuple[str, ...], ...]] = {
    "companies": (("name",), ("domain",)),
    "contacts": (("firstname", "lastname"), ("email",)),
    "deals": (("dealname",),),
    "tickets": (("subject",),),
}


def name_properties(object_type: str) -> tuple[tuple[str, ...], ...]:
    return NAME_PROPERTIES.get(object_type, (("name",),))


def display_name(object_type: str, properties: Mapping[str, Any]) -> str | None:
    """A record's name as a CSM knows it (see NAME_PROPERTIES); None when it has none."""
    for names in name_properties(object_type):
        parts = [text for name in names if (text := display_text(properties.get(name)))]
        if parts:
            return " ".join(parts)
    return None
