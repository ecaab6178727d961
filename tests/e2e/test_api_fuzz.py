"""Schemathesis fuzzes every operation in the API's own OpenAPI document against the local
stack over HTTP: whatever it sends, the API never answers with a 5xx, and its answers keep to
the statuses and content types it declares.

The stack is seeded first (a segment, a live definition, records and an association), so
operations on existing things are reached too, not only 404s on random ids.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from healthscore.adapters.dynamodb_local import free_port
from healthscore.dev.local_stack import LocalStack
from tests.api.client import load_function

ROOT = Path(__file__).parents[2]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


class Served:
    def __init__(self, local: LocalStack, url: str) -> None:
        self.local, self.url = local, url
        self.token = local.token("fuzz")

    def send(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"content-type": "application/json", "authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    saved = dict(os.environ)
    local = LocalStack.start(
        ROOT,
        backend="moto",
        prefix="fuzz",
        exports_folder=Path(tempfile.mkdtemp(prefix="fuzz-exports-")),
    )
    port = free_port()
    local.serve(port)
    try:
        yield Served(local, f"http://127.0.0.1:{port}")
    finally:
        local.stop()
        os.environ.clear()
        os.environ.update(saved)


def seed(served: Served) -> dict[str, str]:
    """Things that exist, and the path parameters that name them."""
    served.send("PUT", "/segments/all", {"name": "All", "object_type": "companies"})
    for n, nps in enumerate((10, 7, 3)):
        served.send("PUT", f"/records/companies/c{n}", {"properties": {"nps_score": nps}})
    served.send("PUT", "/records/contacts/p0", {"properties": {"email": "a@x.io"}})
    link = {"from_type": "companies", "from_id": "c0", "to_type": "contacts", "to_id": "p0"}
    served.send("POST", "/associations", {**link, "labels": ["Champion"]})
    created = served.send(
        "POST", "/definitions/from-templates", {"name": "Health", "segments": ["all"]}
    )
    on = served.send("POST", f"/definitions/{created['id']}/turn-on?version={created['version']}")
    group = created["draft"]["groups"][0]
    return {
        "segment_id": "all",
        "definition_id": created["id"],
        "group_id": group["id"],
        "rule_id": group["rules"][0]["id"],
        "job_id": on["job"]["id"],
        "object_type": "companies",
        "record_id": "c0",
    }


# The document the API serves at /openapi.json, read from the handler module at collection so
# every operation is its own test.
SCHEMA = schemathesis.openapi.from_dict(load_function("api").api_document())
# Reads first, deletes last, so reads on the seeded things find them.
OPERATIONS = sorted(
    (
        (operation.method.upper(), operation.path)
        for operation in (result.ok() for result in SCHEMA.get_all_operations())
    ),
    key=lambda op: (["GET", "PUT", "POST", "DELETE"].index(op[0]), op[1]),
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def existing(served: Served) -> dict[str, str]:
    return seed(served)


def test_every_route_is_fuzzed() -> None:
    """A guard: the fuzz below covers the routes, not an empty or partial document."""
    assert len(OPERATIONS) >= 30
    assert ("POST", "/definitions/{definition_id}/turn-on") in OPERATIONS
    assert ("POST", "/events") in OPERATIONS


def test_the_document_declares_what_the_api_answers(served: Served) -> None:
    """Validation failures are 400 with the Problem body, never FastAPI's 422; every operation
    lists its errors; creations say 201, goes-live 202 and deletions 204; /docs shows the same
    document with no token needed."""
    with urllib.request.urlopen(f"{served.url}/openapi.json", timeout=30) as reply:
        document = json.loads(reply.read())
    assert document["security"] == [{"bearer": []}]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert "422" not in codes, (method, path)
            assert {"400", "401", "500"} <= codes, (method, path)
            if method != "get" and not path.endswith("/test"):
                assert {"403", "409"} <= codes, (method, path)
            if "{" in path or method == "delete":
                assert "404" in codes, (method, path)
            problem = operation["responses"]["400"]["content"]["application/json"]["schema"]
            assert problem == {"$ref": "#/components/schemas/Problem"}
    paths = document["paths"]
    assert "201" in paths["/definitions"]["post"]["responses"]
    assert "202" in paths["/definitions/{definition_id}/turn-on"]["post"]["responses"]
    assert "204" in paths["/records/{object_type}/{record_id}"]["delete"]["responses"]
    assert "415" in paths["/events"]["post"]["responses"]
    assert "/openapi.json" not in paths
    assert "/docs" not in paths
    with urllib.request.urlopen(f"{served.url}/docs", timeout=30) as reply:
        page = reply.read().decode()
        assert reply.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page
    assert "/definitions/{definition_id}/turn-on" in page


def fuzz_runs() -> list[Any]:
    """Each operation with valid and with invalid input on random ids, and with valid input on
    the seeded things when its path names any (random ids mostly reach 404s; pinned ids let
    bodies and queries reach the use cases)."""
    runs = []
    for method, path in OPERATIONS:
        label = f"{method} {path}"
        runs.append(pytest.param(method, path, GenerationMode.POSITIVE, False, id=f"{label} valid"))
        runs.append(
            pytest.param(method, path, GenerationMode.NEGATIVE, False, id=f"{label} invalid")
        )
        if "{" in path:
            runs.append(
                pytest.param(method, path, GenerationMode.POSITIVE, True, id=f"{label} existing")
            )
    return runs


@pytest.mark.parametrize(("method", "path", "mode", "on_existing"), fuzz_runs())
def test_no_input_makes_the_api_fail(
    served: Served,
    existing: dict[str, str],
    method: str,
    path: str,
    mode: GenerationMode,
    on_existing: bool,
) -> None:
    operation = SCHEMA[path][method]
    headers = {"authorization": f"Bearer {served.token}"}
    pinned = {name: value for name, value in existing.items() if "{" + name + "}" in path}
    assert pinned or not on_existing, f"seed() names none of the parameters of {path}"
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=pinned if on_existing else None
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=served.url, headers=headers, checks=CHECKS, timeout=30)

    fuzz()
