"""Webhook signing secrets and HubSpot portal registrations, read from SSM and cached.

- `<webhook_secrets_path>/<account>`: the account's signing secret (its HubSpot app's client
  secret), for target URLs with `?account=<id>`.
- `<hubspot_app_path>/client-secret`: a public app's client secret, for the one target URL every
  installing portal shares; `<hubspot_app_path>/portals/<portalId>` names the account each
  portal's items go to.

Values found are cached for `FOUND_TTL`, names that do not exist for `MISSING_TTL` — so a flood of
requests naming made-up accounts costs one SSM call per name per minute, not one per request —
in a bounded cache. Any other SSM failure (throttling above all) raises `SecretsUnavailable`,
which the webhook answers with 503 so HubSpot retries; it is never mistaken for a missing secret.
(Powertools' parameter providers cache only values found and wrap every error alike, which is
why this reads SSM through boto3.)
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

FOUND_TTL = 300.0  # seconds; a rotated secret takes effect within this
MISSING_TTL = 60.0  # seconds; a secret created for a new account is seen within this
MAX_CACHED = 10_000


class SecretsUnavailable(RuntimeError):
    """SSM could not answer (throttled, or unreachable): try again later."""


class WebhookSecrets:
    def __init__(
        self,
        ssm: Any,
        secrets_path: str,
        app_path: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ssm, self.secrets_path, self.app_path, self.clock = ssm, secrets_path, app_path, clock
        self._cache: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self.lookups = 0  # SSM calls made (tests and metrics read it)

    def account_secret(self, account: str) -> str | None:
        return self._get(f"{self.secrets_path}/{account}")

    def app_secret(self) -> str | None:
        return self._get(f"{self.app_path}/client-secret")

    def portal_account(self, portal_id: str) -> str | None:
        """The account a HubSpot portal's items belong to, if the portal is registered."""
        if not portal_id.isdigit() or len(portal_id) > 20:
            return None  # not a portal id: no lookup
        return self._get(f"{self.app_path}/portals/{portal_id}")

    def _get(self, name: str) -> str | None:
        now = self.clock()
        cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(name)
            return cached[1]
        self.lookups += 1
        value: str | None
        try:
            reply = self.ssm.get_parameter(Name=name, WithDecryption=True)
            value = str(reply["Parameter"]["Value"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in ("ParameterNotFound", "ValidationException"):
                raise SecretsUnavailable(f"SSM {code or 'error'} reading {name}") from error
            value = None
        except BotoCoreError as error:
            raise SecretsUnavailable(f"SSM unreachable reading {name}: {error}") from error
        self._cache[name] = (now + (FOUND_TTL if value is not None else MISSING_TTL), value)
        self._cache.move_to_end(name)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return value
