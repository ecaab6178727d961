"""Every request the connector sends through HubSpot's SDK, and every answer the fake HubSpot
gives, against HubSpot's own public OpenAPI documents (openapi-core): the fake cannot drift into
answering what HubSpot would not, nor the connector into asking what HubSpot would refuse.

The documents live beside the repository (`../shared/hubspot-openapi/`, or HUBSPOT_OPENAPI_DIR);
without them this part is skipped, saying so."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_schema_validator import OAS30Validator

from healthscore.services.hubspot_import import import_portal
from tests.integration.conftest import Fake, wanted

ROOT = Path(__file__).parents[2]
DOCUMENTS = Path(os.environ.get("HUBSPOT_OPENAPI_DIR", ROOT.parent / "shared" / "hubspot-openapi"))


def document_for(path: str) -> str:
    """Which of HubSpot's documents describes a path."""
    parts = path.split("/")
    if parts[2] == "v4":
        return "associations"
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
