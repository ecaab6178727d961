"""The sample portfolio's histories: what its properties were on past days (NPS answers, CSM
sentiment, ticket statuses), the CSMs' overrides, and the activity before the year that fills
the timeframes up. Each from its own random stream, so the rest of a portfolio is the same with
or without them."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, TextIO

from healthscore.dev.sample_catalog import EVENT_TYPES, EVENT_WEIGHTS, FORMS

WARM_UP = 210  # days of activity before the year: the longest timeframes and decays fill up
OVERRIDE_SHARE = 0.04  # companies whose CSM overrode the customer health score in the last 75 days
OVERRIDE_REASONS = {
    "steady": [("Healthy", "Exec sponsor confirmed the renewal on our QBR")],
    "growing": [("Healthy", "Expansion signed; usage data lags the rollout")],
    "declining": [
        ("At-risk", "Champion left; new admin has not logged in"),
        ("Neutral", "Budget review pending, renewal not yet at risk"),
    ],
    "churning": [
        ("At-risk", "Told us they are evaluating a competitor"),
        ("Neutral", "Recovery plan agreed with the new VP"),
    ],
}


class Company(Protocol):
    index: int
    rng_seed: int
    id: str
    end: date
    trajectory: str


def write_line(handle: TextIO, row: dict[str, Any]) -> None:
    handle.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False))
    handle.write("\n")


def company_history(writer: Any, company: Company, properties: dict[str, Any]) -> None:
    """How the company's NPS answers and CSM sentiment came to be what they are: earlier
    answers a quarter apart and earlier sentiment updates, back to before the year (so the
    year starts with answers, as it ends), the last of each equal to the record's value. Its
    own random stream, so the rest of the portfolio is unchanged."""
    rng = random.Random((company.index << 20) ^ 0x5EED ^ company.rng_seed)
    before_the_year = company.end - timedelta(days=365 + WARM_UP)
    changes: list[tuple[str, str, Any]] = []  # (day, property, value)
    if "nps_score" in properties:
        last = date.fromisoformat(properties["nps_date"])
        current = int(properties["nps_score"])
        answers = [(last, properties["nps_score"])]
        value = current
        drift = {"steady": 0.0, "growing": -0.6, "declining": 0.8, "churning": 1.2}[
            company.trajectory
        ]  # going back in time: a declining account answered higher before
        k = 1
        while last - timedelta(days=91 * (k - 1)) > before_the_year:
            value = round(min(10.0, max(0.0, value + rng.gauss(drift, 1.2))))
            answers.append((last - timedelta(days=91 * k), value))
            k += 1
        for day, answer in reversed(answers):
            changes += [(day.isoformat(), "nps_score", answer)]
            changes += [(day.isoformat(), "nps_date", day.isoformat())]
    if "csm_sentiment" in properties:
        last = date.fromisoformat(properties["csm_sentiment_updated"])
        updates = [(last, properties["csm_sentiment"])]
        day = last
        while day > before_the_year:
            earlier = rng.choice(("Positive", "Neutral", "Negative"))
            day -= timedelta(days=rng.randint(25, 45))
            updates.append((day, earlier))
        for day, sentiment in reversed(updates):
            changes += [(day.isoformat(), "csm_sentiment", sentiment)]
            changes += [(day.isoformat(), "csm_sentiment_updated", day.isoformat())]
    for day, name, value in changes:
        write_line(
            writer.history,
            {"object_type": "companies", "id": company.id, "property": name, "value": value,
             "changed_at": f"{day}T15:00:00Z"},
        )  # fmt: skip
    if rng.random() < OVERRIDE_SHARE:  # the CSM overrode the customer health score
        status, reason = rng.choice(OVERRIDE_REASONS[company.trajectory])
        set_at = datetime.combine(company.end, time(9), UTC) - timedelta(
            days=rng.randint(1, 75), minutes=rng.randint(0, 480)
        )
        write_line(
            writer.overrides,
            {
                "object_type": "companies",
                "id": company.id,
                "definition": "Customer health score",
                "status": status,
                "score": None,
                "reason": reason,
                "set_by": str(properties["csm_owner"]),
                "set_at": set_at.isoformat(),
                "expires_at": (set_at + timedelta(days=rng.randint(7, 60))).isoformat(),
            },
        )


def churn_outcome(writer: Any, company: Company, properties: dict[str, Any]) -> None:
    """The day a churned company told us it was leaving — what a backtest measures warnings
    against (outcomes.jsonl): within the last months of the year, after the quiet spell of a
    churning account, any time for a surprise churn. Its own random stream."""
    if properties.get("renewal_outcome") != "churned":
        return
    rng = random.Random((company.index << 24) ^ 0xC4011 ^ company.rng_seed)
    days_before_end = {"churning": (0, 60), "declining": (0, 90)}.get(company.trajectory, (0, 150))
    churned = company.end - timedelta(days=rng.randint(*days_before_end))
    write_line(
        writer.outcomes,
        {"object_type": "companies", "id": company.id, "churned_at": churned.isoformat()},
    )


def ticket_history(
    writer: Any, company: Company, ticket_id: str, k: int, created: date, status: str
) -> None:
    """How the ticket's status came to be: `new` the day it was opened, then being worked on,
    then its status now (closed within a month for a closed one). Its own random stream."""
    rng = random.Random((company.index << 24) ^ (k << 8) ^ 0x71C ^ company.rng_seed)
    steps = [(created, "new")]
    if status != "new":
        worked = min(company.end, created + timedelta(days=rng.randint(0, 3)))
        if status == "closed":
            steps.append((worked, "in_progress"))
            done = min(company.end, worked + timedelta(days=rng.randint(1, 30)))
            steps.append((done, "closed"))
        else:
            steps.append((worked, status))
    for line, (day, value) in enumerate(steps):
        moment = f"{day.isoformat()}T{9 + 3 * line:02d}:00:00Z"
        write_line(
            writer.history,
            {"object_type": "tickets", "id": ticket_id, "property": "status", "value": value,
             "changed_at": moment},
        )  # fmt: skip


def warm_up(writer: Any, company: Company, contacts: list[str], count: float) -> int:
    """Activity in the WARM_UP days before the year, at about the rate the year starts
    with, so that a year's trend begins with full timeframes, not a ramp from nothing.
    Its own random stream: the year's events are the same with or without it."""
    rng = random.Random((company.index << 24) ^ 0xA11CE ^ company.rng_seed)
    start = {"growing": 0.15, "declining": 1.7, "churning": 3.0}.get(company.trajectory, 1.0)
    total = poisson(rng, count * start * WARM_UP / 365)
    for k, event_type in enumerate(rng.choices(EVENT_TYPES, weights=EVENT_WEIGHTS, k=total)):
        days = 365 + rng.randrange(WARM_UP)
        moment = datetime.combine(company.end, time(0), UTC) - timedelta(
            days=days, seconds=-rng.randint(8 * 3600, 19 * 3600)
        )
        write_line(
            writer.events,
            {
                "id": f"e{company.index:07d}-w{k}",
                "type": event_type,
                "occurred_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "object_type": "contacts",
                "object_id": rng.choice(contacts),
                "properties": event_properties(event_type, rng),
            },
        )
    return total


def event_properties(event_type: str, rng: random.Random) -> dict[str, Any]:
    """The properties an event of this type carries."""
    match event_type:
        case "call_ended":
            properties: dict[str, Any] = {
                "duration_seconds": str(int(rng.lognormvariate(6.6, 0.9))),
                "outcome": rng.choice(("connected", "left_voicemail", "no_answer")),
            }
            if rng.random() < 0.8:
                properties["call_type"] = rng.choice(("outbound", "inbound", "video"))
            return properties
        case "form_submitted":
            return {"form_name": rng.choice(FORMS), "page_url": "/contact"}
        case "meeting_booked":
            return {"meeting_type": rng.choice(("QBR", "Onboarding", "Check-in", "Escalation"))}
        case "document_viewed":
            return {
                "document_name": rng.choice(("Roadmap", "Renewal proposal", "Security review")),
                "duration_seconds": rng.randint(5, 900),
            }
        case "page_visited":
            return {
                "page_url": rng.choice(("/pricing", "/docs", "/app/dashboard", "/billing", "/blog"))
            }
        case _ if event_type.startswith(("email_", "sales_email_")):
            return {"email_campaign": rng.choice(("Product update", "Renewal reminder", "Webinar"))}
        case _:
            return {}


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    if mean <= 0:
        return 0
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count
