"""Who is asking and what they may do: the caller every use case acts for.

Reading needs only the account; changing health scores needs the manage permission and a
Service seat (as HubSpot's customer-success tools require).
"""

from __future__ import annotations

from dataclasses import dataclass

from healthscore.domain.errors import Forbidden
from healthscore.domain.plans import Plan

MANAGE_PERMISSION = "manage_customer_success_settings"
SERVICE_SEAT = "service"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, from the API Gateway JWT authorizer's claims."""

    account_id: str
    user_id: str
    permissions: frozenset[str] = frozenset()
    seats: frozenset[str] = frozenset()
    plan: Plan = Plan.PROFESSIONAL

    @property
    def can_manage(self) -> bool:
        return MANAGE_PERMISSION in self.permissions and SERVICE_SEAT in self.seats

    def require_manage(self) -> None:
        if MANAGE_PERMISSION not in self.permissions:
            raise Forbidden(
                f"changing health scores needs the {MANAGE_PERMISSION} permission; "
                "ask an account admin"
            )
        if SERVICE_SEAT not in self.seats:
            raise Forbidden("changing health scores needs a Service seat; ask an account admin")
