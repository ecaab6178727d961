"""Fixtures of the HubSpot connector's tests: a sample portfolio, a fake HubSpot serving it, and
HubSpot's OpenAPI documents to hold every exchange to."""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_schema_validator import OAS30Validator

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


# HubSpot's public OpenAPI documents: the contract the connector and the fake keep to.
DOCUMENTS = Path(os.environ.get("HUBSPOT_OPENAPI_DIR", ROOT.parent / "shared" / "hubspot-openapi"))


def document_for(path: str) -> str:
    """Which of HubSpot's documents describes a path."""
    parts = path.split("/")
    if parts[2] == "v4":
        return "associations"
    if parts[3] == "properties":
        return "properties"
    return parts[4]  # /crm/v3/objects/<type>/…


@pytest.fixture(scope="module")
def documents() -> dict[str, OpenAPI]:
    if not DOCUMENTS.is_dir():
        pytest.skip(
            f"HubSpot's OpenAPI documents are not at {DOCUMENTS}: the contract part is skipped "
            "(set HUBSPOT_OPENAPI_DIR to the folder holding companies.json, associations.json, …)"
        )
    return {p.stem: OpenAPI.from_file_path(str(p)) for p in DOCUMENTS.glob("*.json")}


def checked(documents: dict[str, OpenAPI], exchanges: list[tuple[str, str, Any, int, Any]]) -> int:
    problems = []
    for method, sent, body, status, answer in exchanges:
        # HubSpot takes an object type's name or id; its deals document is written with the id
        path = sent.replace("/crm/v3/objects/deals", "/crm/v3/objects/0-3")
        request = requests.Request(
            method,
            f"https://api.hubapi.com{path}",
            headers={"authorization": "Bearer token", "content-type": "application/json"},
            data=None if body is None else json.dumps(body),
        ).prepare()
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(answer).encode()
        response.headers["content-type"] = "application/json"
        spec = documents[document_for(sent.split("?")[0])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openapi-core does not check HubSpot's oauth2 scheme
            wrapped = RequestsOpenAPIRequest(request)
            try:
                spec.validate_request(wrapped)
            except Exception as error:
                problems.append(f"request {method} {path}: {_reason(error)}")
            try:
                if status < 300:
                    spec.validate_response(wrapped, RequestsOpenAPIResponse(response))
                else:  # errors are `*/*` in HubSpot's documents: openapi-core reads no JSON
                    error_schema(document_for(sent.split("?")[0])).validate(answer)
            except Exception as error:
                problems.append(f"response {method} {path} → {status}: {_reason(error)}")
    assert problems == []
    return len(exchanges)


def error_schema(name: str) -> OAS30Validator:
    """HubSpot's `Error` schema, with the document's components to resolve its refs."""
    document = json.loads((DOCUMENTS / f"{name}.json").read_text())
    schema = {"$ref": "#/components/schemas/Error", "components": document["components"]}
    return OAS30Validator(schema)


def _reason(error: BaseException) -> str:
    causes = [error, *getattr(error, "schema_errors", ()), error.__cause__]
    return "; ".join(repr(c)[:300] for c in causes if c is not None)
