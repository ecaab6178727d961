"""HubSpot's refusals as one exception, importable without HubSpot's SDK (the API and the
use cases name it; only the connector's functions carry the SDK)."""

from __future__ import annotations


class HubSpotUnavailable(Exception):
    """HubSpot kept refusing (rate limit, server errors) past the retries, or refused for
    good (a bad token, a missing scope)."""
