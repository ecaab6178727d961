"""A synthetic customer portfolio in the portable dataset format, for demos, tests and benchmarks.

Deterministic: the same seed, size and end day give byte-identical files. Each company draws
from its own random stream (seeded by the portfolio seed and its index), so any slice of a big
portfolio can be regenerated alone. Companies follow an engagement trajectory over the year —
steady, growing, declining or churning — which shapes their events, tickets, NPS and CSM
sentiment, and decides their renewal outcome (the label analysts test their scores against).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from healthscore.dev.sample_catalog import (
    CSM_OWNERS,
    EVENT_TYPES,
    EVENT_WEIGHTS,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    REGIONS,
    ROLES,
    SEGMENTS,
    SUFFIXES,
    SYLLABLES,
    TRAJECTORIES,
)
from healthscore.dev.sample_history import (
    churn_outcome,
    company_history,
    event_properties,
    poisson,
    ticket_history,
    warm_up,
    write_line,
)


@dataclass
class PortfolioSummary:
    companies: int = 0
    contacts: int = 0
    deals: int = 0
    tickets: int = 0
    associations: int = 0
    events: int = 0
    trajectories: dict[str, int] = field(default_factory=dict)


class _Writer:
    """The dataset's JSONL files (and the outcomes a backtest reads), written line by line."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.records = (folder / "records.jsonl").open("w", encoding="utf-8")
        self.associations = (folder / "associations.jsonl").open("w", encoding="utf-8")
        self.events = (folder / "events.jsonl").open("w", encoding="utf-8")
        self.history = (folder / "property_changes.jsonl").open("w", encoding="utf-8")
        self.overrides = (folder / "overrides.jsonl").open("w", encoding="utf-8")
        self.outcomes = (folder / "outcomes.jsonl").open("w", encoding="utf-8")
        with (folder / "segments.jsonl").open("w", encoding="utf-8") as segments:
            for segment in SEGMENTS:
                write_line(segments, segment)

    def close(self) -> None:
        handles = (self.records, self.associations, self.events, self.history, self.overrides)
        for handle in (*handles, self.outcomes):
            handle.close()


def generate_portfolio(
    folder: Path,
    companies: int,
    *,
    seed: int = 7,
    until: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> PortfolioSummary:
    """Write a portfolio of `companies` companies whose year of events ends on `until`."""
    if companies < 1:
        raise ValueError("companies must be at least 1")
    end = until or datetime.now(UTC).date()
    writer = _Writer(Path(folder))
    summary = PortfolioSummary(trajectories=dict.fromkeys(TRAJECTORIES, 0))
    try:
        for index in range(1, companies + 1):
            _Company(index, seed, end).write(writer, summary)
            if progress is not None and index % 1000 == 0:
                progress(1000)
        if progress is not None:
            progress(companies % 1000)
    finally:
        writer.close()
    return summary


class _Company:
    """One company with its people, deals, tickets and year of events."""

    def __init__(self, index: int, seed: int, end: date) -> None:
        self.rng = random.Random((seed << 32) ^ index)
        self.rng_seed = seed
        self.index = index
        self.id = f"c{index:07d}"
        self.end = end
        self.trajectory = self.rng.choices(
            tuple(TRAJECTORIES), weights=[v[0] for v in TRAJECTORIES.values()]
        )[0]

    def write(self, writer: _Writer, summary: PortfolioSummary) -> None:
        rng = self.rng
        _, engagement, ticket_rate, churn_odds = TRAJECTORIES[self.trajectory]
        summary.companies += 1
        summary.trajectories[self.trajectory] += 1
        employees = max(3, int(rng.lognormvariate(4.6, 1.3)))
        churned = rng.random() < churn_odds
        properties = self._properties(employees, churned)
        lists = []
        if employees >= 1000 and rng.random() < 0.6:
            lists.append("list-strategic")
        if properties["customer_since"] >= (self.end - timedelta(days=120)).isoformat():
            lists.append("list-onboarding")
        write_line(
            writer.records,
            {"object_type": "companies", "id": self.id, "properties": properties, "lists": lists},
        )
        company_history(writer, self, properties)
        churn_outcome(writer, self, properties)

        contacts = self._contacts(writer, summary)
        self._deals(writer, summary, employees)
        self._tickets(writer, summary, ticket_rate, contacts)
        self._events(writer, summary, contacts, engagement, employees)

    def _properties(self, employees: int, churned: bool) -> dict[str, Any]:
        rng, end = self.rng, self.end
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        tier = "Enterprise" if employees >= 1000 else "Mid-market" if employees >= 200 else "SMB"
        sentiment_weights = {
            "steady": (65, 30, 5),
            "growing": (80, 18, 2),
            "declining": (25, 45, 30),
            "churning": (5, 30, 65),
        }[self.trajectory]
        nps_centre = {"steady": 8.6, "growing": 9.2, "declining": 6.5, "churning": 4.0}[
            self.trajectory
        ]
        properties: dict[str, Any] = {
            "name": f"{name} {rng.choice(SUFFIXES)}",
            "domain": f"{name.lower()}{self.index}.example.com",
            "industry": rng.choice(INDUSTRIES),
            "region": rng.choice(REGIONS),
            "csm_owner": rng.choice(CSM_OWNERS),
            "employees": employees,
            "annual_revenue": employees * rng.randint(60, 240) * 1000,
            "tier": tier,
            "lifecycle_stage": "customer",
            "customer_since": (end - timedelta(days=rng.randint(60, 2500))).isoformat(),
            "renewal_date": (end + timedelta(days=rng.randint(1, 365))).isoformat(),
            "renewal_outcome": "churned" if churned else "renewed",
            "engagement_trend": self.trajectory,
        }
        if rng.random() < 0.85:
            properties["csm_sentiment"] = rng.choices(
                ("Positive", "Neutral", "Negative"), weights=sentiment_weights
            )[0]
            properties["csm_sentiment_updated"] = (
                end - timedelta(days=rng.randint(0, 200))
            ).isoformat()
        if rng.random() < 0.7:
            nps = round(min(10.0, max(0.0, rng.gauss(nps_centre, 1.4))))
            # CRM exports send numbers as strings about half the time.
            properties["nps_score"] = str(nps) if rng.random() < 0.5 else nps
            properties["nps_date"] = (end - timedelta(days=rng.randint(0, 365))).isoformat()
        return properties

    def _contacts(self, writer: _Writer, summary: PortfolioSummary) -> list[str]:
        rng = self.rng
        count = max(1, min(12, int(rng.gauss(5, 2))))
        ids = []
        for k in range(count):
            contact_id = f"p{self.index:07d}-{k}"
            label, title = ROLES[k] if k < len(ROLES) else ROLES[3 + k % 3]
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            properties = {
                "firstname": first,
                "lastname": last,
                "email": f"{first.lower()}.{last.lower()}@{self.id}.example.com",
                "jobtitle": title,
                "role": label,
                "lifecyclestage": "customer",
            }
            if rng.random() < 0.3:
                properties["last_activity_date"] = (
                    self.end - timedelta(days=rng.randint(0, 90))
                ).isoformat()
            write_line(
                writer.records,
                {
                    "object_type": "contacts",
                    "id": contact_id,
                    "properties": properties,
                    "lists": [],
                },
            )
            labels = [label] if label != "End user" or rng.random() < 0.5 else []
            write_line(
                writer.associations,
                {
                    "from_type": "companies",
                    "from_id": self.id,
                    "to_type": "contacts",
                    "to_id": contact_id,
                    "labels": labels,
                },
            )
            ids.append(contact_id)
        summary.contacts += count
        summary.associations += count
        return ids

    def _deals(self, writer: _Writer, summary: PortfolioSummary, employees: int) -> None:
        rng = self.rng
        for k in range(rng.choice((0, 1, 1, 2, 3))):
            deal_id = f"d{self.index:07d}-{k}"
            stage = rng.choice(
                ("appointmentscheduled", "qualifiedtobuy", "closedwon", "closedlost")
            )
            write_line(
                writer.records,
                {
                    "object_type": "deals",
                    "id": deal_id,
                    "lists": [],
                    "properties": {
                        "dealname": f"{'Renewal' if k == 0 else 'Expansion'} {self.id}",
                        "amount": employees * rng.randint(100, 400),
                        "dealstage": stage,
                        "pipeline": "renewals" if k == 0 else "expansion",
                        "closedate": (
                            self.end + timedelta(days=rng.randint(-200, 200))
                        ).isoformat(),
                    },
                },
            )
            write_line(
                writer.associations,
                {
                    "from_type": "deals",
                    "from_id": deal_id,
                    "to_type": "companies",
                    "to_id": self.id,
                    "labels": [],
                },
            )
            summary.deals += 1
            summary.associations += 1

    def _tickets(
        self, writer: _Writer, summary: PortfolioSummary, open_rate: float, contacts: list[str]
    ) -> None:
        rng = self.rng
        closed = poisson(rng, 2.0)
        still_open = poisson(rng, open_rate)
        for k in range(closed + still_open):
            ticket_id = f"t{self.index:07d}-{k}"
            is_open = k >= closed
            status = rng.choice(("new", "waiting_on_us", "in_progress")) if is_open else "closed"
            priority = rng.choices(
                ("LOW", "MEDIUM", "HIGH", "URGENT"),
                weights=(35, 40, 20, 5) if is_open else (45, 40, 13, 2),
            )[0]
            created = self.end - timedelta(days=rng.randint(0, 60 if is_open else 365))
            ticket_history(writer, self, ticket_id, k, created, status)
            write_line(
                writer.records,
                {
                    "object_type": "tickets",
                    "id": ticket_id,
                    "lists": [],
                    "properties": {
                        "subject": rng.choice(
                            (
                                "Login issue",
                                "Export fails",
                                "Billing question",
                                "Feature request",
                                "Slow dashboard",
                                "Integration error",
                            )
                        ),
                        "status": status,
                        "priority": priority,
                        "createdate": created.isoformat(),
                    },
                },
            )
            write_line(
                writer.associations,
                {
                    "from_type": "tickets",
                    "from_id": ticket_id,
                    "to_type": "companies",
                    "to_id": self.id,
                    "labels": [],
                },
            )
            write_line(
                writer.associations,
                {
                    "from_type": "tickets",
                    "from_id": ticket_id,
                    "to_type": "contacts",
                    "to_id": rng.choice(contacts),
                    "labels": [],
                },
            )
            summary.tickets += 1
            summary.associations += 2

    def _events(
        self,
        writer: _Writer,
        summary: PortfolioSummary,
        contacts: list[str],
        engagement: float,
        employees: int,
    ) -> None:
        rng = self.rng
        size_factor = 0.5 + 0.25 * math.log10(employees)
        expected = 14.0 * engagement * size_factor
        count = poisson(rng, expected)
        types = rng.choices(EVENT_TYPES, weights=EVENT_WEIGHTS, k=count)
        for k, event_type in enumerate(types):
            when = self._moment(self._day_in_year())
            write_line(
                writer.events,
                {
                    "id": f"e{self.index:07d}-{k}",
                    "type": event_type,
                    "occurred_at": when,
                    "object_type": "contacts",
                    "object_id": rng.choice(contacts),
                    "properties": event_properties(event_type, self.rng),
                },
            )
        summary.events += count
        summary.events += warm_up(writer, self, contacts, expected)
        if rng.random() < 0.35:  # monthly card payments, on the company itself
            day = rng.randint(1, 28)
            payments = 0
            for month in range(12):
                offset = 365 - month * 30 - day
                if (self.trajectory == "churning" and month < 3) or offset < 0:
                    continue
                failed = rng.random() < (0.25 if self.trajectory == "churning" else 0.04)
                write_line(
                    writer.events,
                    {
                        "id": f"e{self.index:07d}-pay{month}",
                        "type": "payment_failed" if failed else "payment_succeeded",
                        "occurred_at": self._moment(offset),
                        "object_type": "companies",
                        "object_id": self.id,
                        "properties": {"amount": str(employees * 10), "currency": "USD"},
                    },
                )
                payments += 1
            summary.events += payments

    def _day_in_year(self) -> int:
        """Days before the end day, shaped by the trajectory (0 = the end day itself)."""
        u = self.rng.random()
        match self.trajectory:
            case "growing":  # denser towards the end day
                return int(365 * (1 - math.sqrt(u)))
            case "declining":  # denser a year ago, thinning out towards the end day
                return int(365 * (math.sqrt(u) if self.rng.random() < 0.7 else u))
            case "churning":  # fading, and nothing at all in the last four months
                return 120 + int(245 * math.sqrt(u))
            case _:
                return int(365 * u)

    def _moment(self, days_before_end: int) -> str:
        rng = self.rng
        moment = (
            datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)
            - timedelta(days=days_before_end)
            + timedelta(seconds=rng.randint(8 * 3600, 19 * 3600))
        )
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
