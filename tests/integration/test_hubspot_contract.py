"""Every request the connector sends through HubSpot's SDK, and every answer the fake HubSpot
gives, against HubSpot's own public OpenAPI documents (openapi-core): the fake cannot drift into
answering what HubSpot would not, nor the connector into asking what HubSpot would refuse.

The documents live beside the repository (`../shared/hubspot-openapi/`, or HUBSPOT_OPENAPI_DIR);
without them this part is skipped, saying so."""

from __future__ import annotations

from pathlib import Path

from openapi_core import OpenAPI

from healthscore.services.hubspot_import import import_portal
from tests.integration.conftest import Fake, checked, document_for, wanted


def test_every_exchange_of_an_import_and_a_sync_keeps_to_hubspots_documents(
    documents: dict[str, OpenAPI],
    fake: Fake,
    portfolio: Path,
    tmp_path: Path,
) -> None:
    import_portal(fake.crm(), tmp_path / "imported", wanted(portfolio))
    fake.portal.throttle_every, fake.portal.fail_next = 5, 2
    import_portal(fake.crm(), tmp_path / "imported", wanted(portfolio))  # a sync, throttled
    statuses = {status for *_, status, _ in fake.portal.bodies}
    assert {200, 429, 502} <= statuses
    kinds = {(m, document_for(p.split("?")[0])) for m, p, *_ in fake.portal.bodies}
    assert {("GET", "companies"), ("POST", "calls"), ("POST", "associations")} <= kinds
    assert checked(documents, fake.portal.bodies) > 30
