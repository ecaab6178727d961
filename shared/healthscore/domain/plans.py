"""Plans: how many live health scores and drafts an account may have (HubSpot's Customer
Success workspace allows one live score on Professional, ten on Enterprise)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Plan(StrEnum):
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True, slots=True)
class PlanLimits:
    live: int
    drafts: int


PLAN_LIMITS = {
    Plan.PROFESSIONAL: PlanLimits(live=1, drafts=5),
    Plan.ENTERPRISE: PlanLimits(live=10, drafts=20),
}


class PlanLimitExceeded(Exception):
    """The account's plan does not allow another live score or draft."""


def check_plan_allows(
    plan: Plan, *, live: int, drafts: int, adding: Literal["live", "draft"]
) -> None:
    """Raise PlanLimitExceeded when adding one more live score or draft breaks the plan."""
    limits = PLAN_LIMITS[plan]
    if adding == "live" and live + 1 > limits.live:
        raise PlanLimitExceeded(
            f"the {plan.value} plan allows {limits.live} live health score"
            f"{'s' if limits.live != 1 else ''}; turn one off first"
        )
    if adding == "draft" and drafts + 1 > limits.drafts:
        raise PlanLimitExceeded(
            f"the {plan.value} plan allows {limits.drafts} draft health scores; "
            "delete or publish one first"
        )
