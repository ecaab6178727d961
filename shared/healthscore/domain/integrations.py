"""An account's connection to its HubSpot portal (pure): which portal, where its private-app
token is kept (never the token itself), and what the connection does — sync the portal's CRM
in on a schedule, write scores back.

The token lives in the deployment's secret stores, named by reference:
- an SSM SecureString parameter under the deployment's tokens path (`/healthscore/hubspot-tokens`
  by default), e.g. `/healthscore/hubspot-tokens/acme`;
- or a Secrets Manager secret named `healthscore/hubspot/…`, by ARN.
The functions may read only those (template.yaml's policies), so a reference elsewhere is refused
at connect time with the reason rather than failing at the first sync.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from healthscore.domain.errors import InvalidRequest

SECRET_PREFIX = "healthscore/hubspot/"
_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:" + re.escape(SECRET_PREFIX) + r".+$"
)
_PORTAL = re.compile(r"^\d{1,20}$")


@dataclass(frozen=True, slots=True)
class HubSpotConnection:
    portal_id: str
    token_parameter: str  # an SSM parameter name or a Secrets Manager secret ARN
    writeback: bool = True  # push score and status onto the portal's records
    sync: bool = True  # import what changed in the portal, on the schedule
    connected_by: str = ""
    connected_at: str = ""  # ISO instant

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HubSpotConnection:
        return cls(
            portal_id=str(data["portal_id"]),
            token_parameter=str(data["token_parameter"]),
            writeback=bool(data.get("writeback", True)),
            sync=bool(data.get("sync", True)),
            connected_by=str(data.get("connected_by", "")),
            connected_at=str(data.get("connected_at", "")),
        )

    @property
    def in_secrets_manager(self) -> bool:
        return self.token_parameter.startswith("arn:")


def check_reference(token_parameter: str, tokens_path: str) -> None:
    """Refuse a token reference the functions could not read, or a token sent in its place."""
    field = "token_parameter"
    if token_parameter.startswith(("pat-", "Bearer ")) or re.fullmatch(
        r"[A-Za-z0-9-]{30,}", token_parameter
    ):
        raise InvalidRequest(
            field,
            "looks like a token: store the token in SSM (SecureString) or Secrets Manager and "
            "send its name here",
        )
    if token_parameter.startswith("arn:"):
        if not _SECRET_ARN.match(token_parameter):
            raise InvalidRequest(
                field, f"a Secrets Manager secret the functions may read is named {SECRET_PREFIX}…"
            )
        return
    prefix = tokens_path.rstrip("/") + "/"
    if not token_parameter.startswith(prefix) or len(token_parameter) == len(prefix):
        raise InvalidRequest(
            field,
            f"must be an SSM parameter under {prefix} (the path this deployment may read) or a "
            f"Secrets Manager ARN of a secret named {SECRET_PREFIX}…",
        )
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", token_parameter):
        raise InvalidRequest(field, "an SSM parameter name holds letters, digits and _ . / -")


def check_portal(portal_id: str) -> None:
    if not _PORTAL.match(portal_id):
        raise InvalidRequest("portal_id", "must be the portal's number (Hub ID), e.g. 4470012")
