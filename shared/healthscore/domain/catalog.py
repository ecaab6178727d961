"""The event catalog (docs/definition-reference.md lists it): canonical event types and the
properties they carry."""

from __future__ import annotations

import re
from types import MappingProxyType

# Event type → the properties it usually carries (unknown properties are kept all the same).
EVENT_CATALOG: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "ad_interaction": ("ad_network", "campaign", "interaction_type"),
        "email_sent": ("email_campaign", "subject"),
        "email_bounced": ("email_campaign", "bounce_type"),
        "email_delivered": ("email_campaign",),
        "email_opened": ("email_campaign", "subject"),
        "email_replied": ("email_campaign", "subject"),
        "email_clicked": ("email_campaign", "url"),
        "email_subscription_updated": ("subscription", "status"),
        "form_viewed": ("form_name", "page_url"),
        "form_interacted": ("form_name", "page_url"),
        "form_submitted": ("form_name", "page_url"),
        "popup_viewed": ("popup_name",),
        "meeting_booked": ("meeting_type", "owner"),
        "meeting_outcome_changed": ("meeting_type", "outcome"),
        "document_shared": ("document_name",),
        "document_viewed": ("document_name", "duration_seconds"),
        "document_finished": ("document_name",),
        "sequence_enrolled": ("sequence_name",),
        "sequence_unenrolled": ("sequence_name", "reason"),
        "sequence_step_executed": ("sequence_name", "step"),
        "sequence_finished": ("sequence_name",),
        "sequence_meeting_booked": ("sequence_name",),
        "cta_clicked": ("cta_name", "page_url"),
        "cta_viewed": ("cta_name", "page_url"),
        "page_visited": ("page_url", "page_title"),
        "marketing_event_registered": ("event_name",),
        "marketing_event_attended": ("event_name",),
        "marketing_event_canceled": ("event_name",),
        "media_played": ("media_name", "duration_seconds"),
        "outbound_message_sent": ("channel",),
        "outbound_message_delivered": ("channel",),
        "outbound_message_opened": ("channel",),
        "outbound_message_failed": ("channel", "reason"),
        "payment_initiated": ("amount", "currency"),
        "payment_succeeded": ("amount", "currency"),
        "payment_failed": ("amount", "currency", "reason"),
        "refund_initiated": ("amount", "currency"),
        "refund_succeeded": ("amount", "currency"),
        "refund_failed": ("amount", "currency", "reason"),
        "sales_email_sent": ("subject",),
        "sales_email_opened": ("subject",),
        "sales_email_clicked": ("subject", "url"),
        "sales_email_replied": ("subject",),
        "call_started": ("call_type",),
        "call_ended": ("duration_seconds", "call_type", "outcome"),
        "sms_sent": ("channel",),
        "sms_failed": ("channel", "reason"),
        "sms_dropped": ("channel",),
        "sms_delivered": ("channel",),
        "workflow_enrolled": ("workflow_name",),
        "workflow_unenrolled": ("workflow_name", "reason"),
        "workflow_goal_achieved": ("workflow_name",),
    }
)

_NAME = r"[^:\s](?:[^:]*[^:\s])?"
_CUSTOM = re.compile(rf"custom:{_NAME}")
_TIMELINE = re.compile(rf"timeline:{_NAME}:{_NAME}")


def is_known_event_type(event_type: str) -> bool:
    """A catalog type, `custom:<name>` or `timeline:<app>:<name>`."""
    return (
        event_type in EVENT_CATALOG
        or bool(_CUSTOM.fullmatch(event_type))
        or bool(_TIMELINE.fullmatch(event_type))
    )
