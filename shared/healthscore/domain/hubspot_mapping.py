"""How HubSpot's CRM objects become records, associations and events (docs/hubspot.md has the
table). Pure: HubSpot's JSON in, the domain's objects out — and back, for the fake HubSpot the
tests and the demo serve.

Engagements (calls, meetings, emails, notes) are events of the records they are associated
with; a completed call is `call_ended`, a meeting `meeting_booked`, an incoming email
`email_replied`, an outgoing one `sales_email_sent`, a note `custom:note_logged`. Behavioural
events HubSpot keeps outside the CRM objects (page views, forms, marketing emails, payments)
are not in these endpoints: they arrive by webhook or the events API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from healthscore.domain.dataset import Event, Record, Segment
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.values import parse_instant

# The CRM record types imported as records, HubSpot's name = ours.
RECORD_TYPES = ("companies", "contacts", "deals", "tickets")
# HubSpot's own properties the import always reads beside the ones definitions use.
SYSTEM_PROPERTIES = ("hs_object_id", "hs_lastmodifieddate", "createdate")
# What names a record where a person reads it (overview, reports, the notebooks), kept too.
DISPLAY_PROPERTIES: Mapping[str, frozenset[str]] = {
    "companies": frozenset({"name", "domain"}),
    "contacts": frozenset({"email", "firstname", "lastname"}),
    "deals": frozenset({"dealname"}),
    "tickets": frozenset({"subject"}),
}


@dataclass(frozen=True, slots=True)
class EngagementKind:
    """One engagement object type, and which of its values make which event."""

    object_type: str  # HubSpot's: calls, meetings, emails, notes
    event_type: str
    # HubSpot property → event property (durations are converted, see `event_properties`)
    properties: Mapping[str, str]
    # only engagements whose property has one of these values ({} : all of them)
    when: Mapping[str, frozenset[str]]


ENGAGEMENTS: tuple[EngagementKind, ...] = (
    EngagementKind(
        "calls",
        "call_ended",
        {
            "hs_call_duration": "duration_seconds",
            "hs_activity_type": "call_type",
            "hs_call_disposition": "outcome",
        },
        {"hs_call_status": frozenset({"COMPLETED"})},
    ),
    EngagementKind(
        "meetings",
        "meeting_booked",
        {"hs_activity_type": "meeting_type", "hs_meeting_outcome": "outcome"},
        {},
    ),
    EngagementKind(
        "emails",
        "email_replied",
        {"hs_email_subject": "subject"},
        {"hs_email_direction": frozenset({"INCOMING_EMAIL"})},
    ),
    EngagementKind(
        "emails",
        "sales_email_sent",
        {"hs_email_subject": "subject"},
        {"hs_email_direction": frozenset({"EMAIL", "FORWARDED_EMAIL"})},
    ),
    EngagementKind("notes", "custom:note_logged", {}, {}),
)
ENGAGEMENT_TYPES = tuple(dict.fromkeys(k.object_type for k in ENGAGEMENTS))
BY_EVENT_TYPE = {k.event_type: k for k in ENGAGEMENTS}


def engagement_properties(object_type: str) -> list[str]:
    """What to ask HubSpot for, for one engagement type."""
    wanted = {"hs_timestamp"}
    for kind in ENGAGEMENTS:
        if kind.object_type == object_type:
            wanted |= set(kind.properties) | set(kind.when)
    return sorted(wanted)


def record_from(object_type: str, item: Mapping[str, Any], wanted: frozenset[str]) -> Record:
    """A CRM object (`{"id", "properties"}`) as a record with the properties definitions read.
    Values stay HubSpot's text (the engines compare numeric text as numbers, and a zip code keeps
    its leading zero); HubSpot's empty strings are missing values."""
    properties = {
        name: value
        for name, value in (item.get("properties") or {}).items()
        if name in wanted and value not in (None, "")
    }
    return Record(object_type, str(item["id"]), properties)


def events_from(
    object_type: str, item: Mapping[str, Any], owners: list[tuple[str, str]]
) -> list[Event]:
    """An engagement as one event per associated owner (contact or company); none when it is
    not one the table maps, or has no time."""
    properties = item.get("properties") or {}
    moment = parse_instant(properties.get("hs_timestamp"))
    if moment is None:
        return []
    for kind in ENGAGEMENTS:
        if kind.object_type != object_type:
            continue
        if all(properties.get(p) in values for p, values in kind.when.items()):
            carried = event_properties(kind, properties)
            return [
                Event(
                    id=f"{object_type}-{item['id']}",
                    type=kind.event_type,
                    occurred_at=moment,
                    object_type=owner_type,
                    object_id=owner_id,
                    properties=carried,
                )
                for owner_type, owner_id in owners
            ]
    return []


def event_properties(kind: EngagementKind, properties: Mapping[str, Any]) -> dict[str, Any]:
    carried: dict[str, Any] = {}
    for source, target in kind.properties.items():
        value = properties.get(source)
        if value in (None, ""):
            continue
        if source == "hs_call_duration":  # HubSpot counts milliseconds
            carried[target] = round(float(value) / 1000)
        else:
            carried[target] = value
    return carried


def engagement_of(event: Event) -> tuple[str, dict[str, str]] | None:
    """The other way (the fake HubSpot): the engagement object type and HubSpot properties that
    import back as this event; None for events HubSpot's CRM objects do not hold."""
    kind = BY_EVENT_TYPE.get(event.type)
    if kind is None:
        return None
    properties = {"hs_timestamp": instant_text(event.occurred_at)}
    for name, values in kind.when.items():
        properties[name] = sorted(values)[0]
    for source, target in kind.properties.items():
        value = event.properties.get(target)
        if value is None:
            continue
        if source == "hs_call_duration":
            properties[source] = str(int(value) * 1000)
        else:
            properties[source] = str(value)
    return kind.object_type, properties


def instant_text(moment: datetime) -> str:
    """HubSpot's datetime format: UTC, milliseconds, Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def properties_read(
    definitions: Iterable[ScoreDefinition], segments: Iterable[Segment]
) -> dict[str, set[str]]:
    """Object type → the properties the definitions and segments read of it, and those that
    name a record: what an import asks HubSpot for (HubSpot answers only the properties named)."""
    wanted: dict[str, set[str]] = {t: set(DISPLAY_PROPERTIES.get(t, ())) for t in RECORD_TYPES}
    for segment in segments:
        wanted.setdefault(segment.object_type, set()).update(
            c.property for c in segment.conditions if c.property
        )
    for definition in definitions:
        for _group, rule in definition.rules():
            if rule.event_type is not None:
                if rule.association is not None:  # filters on the associated contact
                    wanted["contacts"].update(
                        c.property for c in rule.association.filters if c.property
                    )
                continue
            target = definition.object_type if rule.target == "self" else rule.target
            wanted.setdefault(target, set()).update(
                c.property for c in rule.conditions if c.property
            )
        properties = definition.properties
        if properties is not None:  # the write-back's own, so an import sees what it wrote
            wanted[definition.object_type] |= {properties.score.name, properties.status.name}
    return wanted
