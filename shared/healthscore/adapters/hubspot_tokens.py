"""Where connected accounts keep their HubSpot private-app tokens, and which portal is whose.

- Tokens: an SSM SecureString parameter (by name) or a Secrets Manager secret (by ARN), read
  with decryption and cached for `TOKEN_TTL` (a rotated token is picked up within it).
- Portals: `<hubspot_app_path>/portals/<portalId>` holds the account id (the webhook routes a
  portal's deliveries by it); connecting writes it, refusing a portal another account holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from healthscore.domain.errors import Conflict

TOKEN_TTL = 300.0


class TokenMissing(LookupError):
    """The reference names no parameter or secret (or one the functions may not read)."""


class HubSpotTokens:
    def __init__(self, ssm: Any, secrets: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.ssm, self.secrets, self.clock = ssm, secrets, clock
        self._cache: dict[str, tuple[float, str]] = {}

    def exists(self, reference: str) -> bool:
        """Whether the reference names a parameter or secret (read without its value)."""
        try:
            if reference.startswith("arn:"):
                self.secrets.describe_secret(SecretId=reference)
            else:
                self.ssm.get_parameter(Name=reference, WithDecryption=False)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("ParameterNotFound", "ResourceNotFoundException", "AccessDeniedException"):
                return False
            raise
        return True

    def token(self, reference: str) -> str:
        cached = self._cache.get(reference)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        try:
            if reference.startswith("arn:"):
                value = str(self.secrets.get_secret_value(SecretId=reference)["SecretString"])
            else:
                reply = self.ssm.get_parameter(Name=reference, WithDecryption=True)
                value = str(reply["Parameter"]["Value"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("ParameterNotFound", "ResourceNotFoundException", "AccessDeniedException"):
                raise TokenMissing(f"{reference}: {code}") from error
            raise
        if not value.strip():
            raise TokenMissing(f"{reference} is empty")
        self._cache[reference] = (self.clock() + TOKEN_TTL, value.strip())
        return value.strip()


class PortalRegistry:
    def __init__(self, ssm: Any, app_path: str) -> None:
        self.ssm, self.app_path = ssm, app_path.rstrip("/")

    def _name(self, portal_id: str) -> str:
        return f"{self.app_path}/portals/{portal_id}"

    def owner(self, portal_id: str) -> str | None:
        try:
            return str(self.ssm.get_parameter(Name=self._name(portal_id))["Parameter"]["Value"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise

    def register(self, portal_id: str, account: str) -> None:
        owner = self.owner(portal_id)
        if owner is not None and owner != account:
            raise Conflict(f"portal {portal_id} is connected to another account")
        if owner is None:
            self.ssm.put_parameter(
                Name=self._name(portal_id), Value=account, Type="String", Overwrite=True
            )

    def unregister(self, portal_id: str, account: str) -> None:
        if self.owner(portal_id) == account:
            self.ssm.delete_parameter(Name=self._name(portal_id))
