"""What the sample portfolio is made of: industries, regions, CSM owners, company and people
names, roles, forms, contact event types with their weights, the engagement trajectories, and
the segments every generated portfolio carries."""

from __future__ import annotations

from typing import Any

INDUSTRIES = (
    "Software",
    "Healthcare",
    "Financial Services",
    "Manufacturing",
    "Retail",
    "Education",
    "Media",
    "Logistics",
)

REGIONS = ("Northeast", "Southeast", "Midwest", "West", "EMEA", "APAC")

CSM_OWNERS = tuple(
    f"{first} {last}"
    for first, last in [
        ("Avery", "Chen"),
        ("Jordan", "Patel"),
        ("Sam", "Okafor"),
        ("Riley", "Novak"),
        ("Morgan", "Silva"),
        ("Casey", "Lindqvist"),
        ("Quinn", "Haddad"),
        ("Jamie", "Moreau"),
        ("Drew", "Kowalski"),
        ("Reese", "Tanaka"),
        ("Parker", "Ibrahim"),
        ("Skyler", "Rossi"),
    ]
)

SYLLABLES = (
    "ac",
    "me",
    "no",
    "va",
    "zen",
    "tri",
    "lo",
    "gic",
    "qua",
    "ntum",
    "by",
    "te",
    "ra",
    "ver",
    "sol",
    "ar",
    "ion",
    "flex",
    "pro",
    "dyn",
    "ami",
    "cs",
    "nex",
    "us",
)

SUFFIXES = ("Inc", "Labs", "Group", "Systems", "Health", "Partners", "Works", "Co")

FIRST_NAMES = (
    "Alex",
    "Blair",
    "Cameron",
    "Dana",
    "Emerson",
    "Finley",
    "Gray",
    "Harper",
    "Indigo",
    "Jules",
    "Kai",
    "Logan",
    "Marlow",
    "Noor",
    "Oakley",
    "Peyton",
)

LAST_NAMES = (
    "Abara",
    "Baker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Meyer",
    "Nguyen",
    "Olsen",
    "Park",
)

ROLES = (
    ("Decision maker", "VP Operations"),
    ("Champion", "Customer Success Lead"),
    ("Billing contact", "Finance Manager"),
    ("End user", "Analyst"),
    ("End user", "Specialist"),
    ("End user", "Coordinator"),
)

FORMS = ("Contact us", "Newsletter", "Support request", "Webinar signup")

# Event mix for contacts (type, weight); a company's own events are payments.
CONTACT_EVENTS = (
    ("email_opened", 16),
    ("email_clicked", 5),
    ("email_replied", 12),
    ("page_visited", 8),
    ("meeting_booked", 12),
    ("call_ended", 12),
    ("form_submitted", 4),
    ("document_viewed", 10),
    ("sales_email_opened", 4),
    ("sales_email_replied", 6),
    ("marketing_event_attended", 2),
    ("cta_clicked", 2),
    ("email_delivered", 4),
)

EVENT_TYPES = tuple(t for t, _ in CONTACT_EVENTS)

EVENT_WEIGHTS = tuple(float(w) for _, w in CONTACT_EVENTS)

# Trajectory → (share of companies, yearly engagement multiplier, open-ticket rate, churn odds)
TRAJECTORIES = {
    "steady": (0.50, 1.9, 0.4, 0.05),
    "growing": (0.18, 2.1, 0.3, 0.02),
    "declining": (0.20, 1.1, 0.8, 0.35),
    "churning": (0.12, 0.6, 2.2, 0.8),
}

SEGMENTS: list[dict[str, Any]] = [
    {
        "id": "seg-all-companies",
        "name": "All companies",
        "object_type": "companies",
        "conditions": [],
        "lists": [],
    },
    {
        "id": "seg-upmarket",
        "name": "Upmarket (200+ employees)",
        "object_type": "companies",
        "conditions": [{"property": "employees", "operator": "gte", "value": 200}],
        "lists": [],
    },
    {
        "id": "seg-smb",
        "name": "SMB (under 200 employees)",
        "object_type": "companies",
        "conditions": [{"property": "employees", "operator": "lt", "value": 200}],
        "lists": [],
    },
    {
        "id": "seg-strategic",
        "name": "Strategic accounts",
        "object_type": "companies",
        "conditions": [],
        "lists": ["list-strategic"],
    },
    {
        "id": "seg-onboarding",
        "name": "Onboarding (first 120 days)",
        "object_type": "companies",
        "conditions": [],
        "lists": ["list-onboarding"],
    },
    {
        "id": "seg-all-contacts",
        "name": "All contacts",
        "object_type": "contacts",
        "conditions": [],
        "lists": [],
    },
    {
        "id": "seg-decision-makers",
        "name": "Decision makers",
        "object_type": "contacts",
        "conditions": [{"property": "role", "operator": "eq_any", "values": ["Decision maker"]}],
        "lists": [],
    },
]
