"""Fixtures of the HubSpot connector's tests: a sample portfolio and a fake HubSpot serving it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healthscore.adapters.dataset_files import read_dataset
from healthscore.adapters.dynamodb_local import free_port
from healthscore.adapters.hubspot_crm import HubSpotCrm
from healthscore.dev.fake_hubspot import Portal, serve
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.hubspot_mapping import properties_read
from healthscore.domain.validation import parse_definition

ROOT = Path(__file__).parents[2]
DEFINITION = ROOT / "docs" / "examples" / "customer-health-score.json"
TOKEN = "pat-na1-test"
AS_OF = datetime(2026, 6, 15, 18, tzinfo=UTC)
AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


class Fake:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.port = free_port()
        self.server = serve(portal, self.port, TOKEN)
        self.url = f"http://127.0.0.1:{self.port}"

    def crm(self) -> HubSpotCrm:
        return HubSpotCrm(TOKEN, self.url, sleep=lambda seconds: time.sleep(min(seconds, 0.05)))


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hubspot") / "portfolio"
    generate_portfolio(folder, 60, seed=4, until=AS_OF.date())
    return folder


@pytest.fixture
def fake(portfolio: Path) -> Iterator[Fake]:
    running = Fake(Portal.from_dataset(read_dataset(portfolio), modified=AN_HOUR_AGO))
    yield running
    running.server.shutdown()


def wanted(portfolio: Path) -> dict[str, set[str]]:
    definition = parse_definition(json.loads(DEFINITION.read_text()))
    return properties_read([definition], read_dataset(portfolio).segments.values())
