"""Definitions through the API: create, edit, the live/draft lifecycle, plan limits, locking."""

from __future__ import annotations

from typing import Any

import pytest

from healthscore.domain.plans import Plan
from tests.api.conftest import Stack

SEGMENT = {"name": "All companies", "object_type": "companies", "conditions": []}


def minimal(name: str = "Customer health", points: int = 10) -> dict[str, Any]:
    return {
        "name": name,
        "object_type": "companies",
        "segments": ["all-companies"],
        "groups": [
            {
                "name": "NPS",
                "kind": "property",
                "max_points": 30,
                "rules": [
                    {
                        "object": "self",
                        "points": points,
                        "conditions": [{"property": "nps_score", "operator": "gte", "value": 9}],
                    }
                ],
            }
        ],
        "thresholds": [
            {"label": "At risk", "min": 0, "color": "#d9534f"},
            {"label": "Healthy", "min": 10, "color": "#5cb85c"},
        ],
    }


def seeded(stack: Stack, account: str = "acme") -> Any:
    admin = stack.admin(account)
    assert admin.put("/segments/all-companies", SEGMENT).status == 200
    return admin


def test_create_edit_turn_on_and_publish_a_score(stack: Stack) -> None:
    admin = seeded(stack)
    created = admin.post("/definitions", minimal())
    assert created.status == 201, created.body
    definition = created.body
    assert definition["state"] == "draft"
    assert definition["draft_revision"] == 1
    did, version = definition["id"], definition["version"]

    edited = admin.put(f"/definitions/{did}", minimal(points=12), query={"version": version})
    assert edited.status == 200, edited.body
    assert edited.body["draft_revision"] == 2

    on = admin.post(f"/definitions/{did}/turn-on", query={"version": edited.body["version"]})
    assert on.status == 202, on.body
    assert on.body["definition"]["state"] == "live"
    assert on.body["definition"]["live_revision"] == 2
    job = on.body["job"]
    assert job["status"] == "queued"
    assert stack.queued_jobs() == [{"account_id": "acme", "job_id": job["id"]}]
    assert admin.get(f"/jobs/{job['id']}").body["kind"] == "turn_on"
    names = sorted(p["name"] for p in admin.get("/output-properties").body)
    assert names == ["customer_health_score", "customer_health_status"]

    # Editing a live score saves a draft revision; the live one is untouched until update.
    version = on.body["definition"]["version"]
    draft = admin.put(f"/definitions/{did}", minimal(points=20), query={"version": version})
    assert draft.status == 200
    assert draft.body["has_unpublished_edits"] is True
    assert draft.body["live"]["groups"][0]["rules"][0]["points"] == 12
    assert draft.body["draft"]["groups"][0]["rules"][0]["points"] == 20
    published = admin.post(f"/definitions/{did}/update", query={"version": draft.body["version"]})
    assert published.status == 202
    assert published.body["definition"]["live"]["groups"][0]["rules"][0]["points"] == 20
    assert published.body["definition"]["live_revision"] == 3

    off = admin.post(
        f"/definitions/{did}/turn-off",
        headers={"if-match": str(published.body["definition"]["version"])},
    )
    assert off.status == 200
    assert off.body["state"] == "off"
    listed = admin.get("/definitions").body
    assert [(d["id"], d["state"]) for d in listed] == [(did, "off")]
    deleted = admin.delete(f"/definitions/{did}", query={"version": off.body["version"]})
    assert deleted.status == 204
    assert admin.get(f"/definitions/{did}").status == 404
    assert admin.get("/output-properties").body == []


def test_a_stale_version_is_refused_with_409(stack: Stack) -> None:
    admin = seeded(stack)
    definition = admin.post("/definitions", minimal()).body
    first = admin.put(
        f"/definitions/{definition['id']}",
        minimal(points=11),
        query={"version": definition["version"]},
    )
    second = admin.put(
        f"/definitions/{definition['id']}",
        minimal(points=12),
        query={"version": definition["version"]},
    )
    assert first.status == 200
    assert second.status == 409
    assert "version" in second.body["message"]
    current = admin.get(f"/definitions/{definition['id']}").body
    assert current["draft"]["groups"][0]["rules"][0]["points"] == 11


def test_plan_limits_are_409_naming_the_limit(stack: Stack) -> None:
    admin = seeded(stack)
    ids = []
    for n in range(5):
        reply = admin.post("/definitions", minimal(name=f"Score {n}"))
        assert reply.status == 201
        ids.append(reply.body)
    sixth = admin.post("/definitions", minimal(name="Score 6"))
    assert sixth.status == 409
    assert "5 draft" in sixth.body["message"]
    on = admin.post(f"/definitions/{ids[0]['id']}/turn-on", query={"version": ids[0]["version"]})
    assert on.status == 202
    second = admin.post(
        f"/definitions/{ids[1]['id']}/turn-on", query={"version": ids[1]["version"]}
    )
    assert second.status == 409
    assert "1 live" in second.body["message"]
    enterprise = stack.admin("bigco", plan=Plan.ENTERPRISE)
    enterprise.put("/segments/all-companies", SEGMENT)
    for n in range(6):
        assert enterprise.post("/definitions", minimal(name=f"E{n}")).status == 201


def test_invalid_definitions_are_400_with_the_field_path(stack: Stack) -> None:
    admin = seeded(stack)
    bad = minimal()
    bad["groups"][0]["rules"][0]["conditions"][0]["operator"] = "bigger"
    reply = admin.post("/definitions", bad)
    assert reply.status == 400
    assert reply.body["errors"][0]["path"] == "groups[0].rules[0].conditions[0].operator"
    unknown_segment = {**minimal(), "segments": ["nope"]}
    reply = admin.post("/definitions", unknown_segment)
    assert reply.status == 400
    assert reply.body["errors"][0]["path"].startswith("segments")
    assert admin.post("/definitions", raw_body="{not json").status == 400
    form = admin.post(
        "/definitions",
        raw_body="name=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status == 415
    assert "application/json" in form.body["message"]
    assert admin.post("/definitions", [1, 2]).status == 400
    missing_version = admin.put(
        f"/definitions/{admin.post('/definitions', minimal()).body['id']}", minimal()
    )
    assert missing_version.status == 400
    assert missing_version.body["errors"][0]["path"] == "version"


def test_groups_and_rules_clone_and_delete(stack: Stack) -> None:
    admin = seeded(stack)
    definition = admin.post("/definitions", minimal()).body
    group = definition["draft"]["groups"][0]
    did = definition["id"]
    cloned = admin.post(
        f"/definitions/{did}/groups/{group['id']}/clone", query={"version": definition["version"]}
    )
    assert cloned.status == 200, cloned.body
    names = [g["name"] for g in cloned.body["draft"]["groups"]]
    assert names == ["NPS", "NPS (copy)"]
    assert cloned.body["draft"]["groups"][1]["id"] != group["id"]
    rule_id = group["rules"][0]["id"]
    rule = admin.post(
        f"/definitions/{did}/rules/{rule_id}/clone", query={"version": cloned.body["version"]}
    )
    assert rule.status == 200
    assert len(rule.body["draft"]["groups"][0]["rules"]) == 2
    gone = admin.delete(
        f"/definitions/{did}/groups/{cloned.body['draft']['groups'][1]['id']}",
        query={"version": rule.body["version"]},
    )
    assert [g["name"] for g in gone.body["draft"]["groups"]] == ["NPS"]
    missing = admin.delete(
        f"/definitions/{did}/rules/rule_nope", query={"version": gone.body["version"]}
    )
    assert missing.status == 404


def test_create_from_the_predefined_groups(stack: Stack) -> None:
    admin = seeded(stack)
    reply = admin.post(
        "/definitions/from-templates", {"name": "Upmarket", "segments": ["all-companies"]}
    )
    assert reply.status == 201, reply.body
    assert len(reply.body["draft"]["groups"]) == 5
    bad = admin.post(
        "/definitions/from-templates",
        {"name": "X", "segments": ["all-companies"], "templates": ["Nope"]},
    )
    assert bad.status == 400
    assert bad.body["errors"][0]["path"] == "templates"


@pytest.mark.parametrize("function", ["api", "webhook", "scorer", "sweep"])
def test_the_request_path_functions_do_not_import_polars(function: str) -> None:
    """Cold start: only the recompute carries Polars (docs/architecture.md, package size)."""
    import subprocess
    import sys

    code = (
        "import sys; from tests.api.client import load_function; "
        f"load_function({function!r}); "
        "print(sorted(m for m in ('polars', 'typer', 'rich') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


@pytest.mark.parametrize("stack", ["dynamodb-local"], indirect=True)
def test_two_concurrent_edits_one_wins_the_other_gets_a_conflict(stack: Stack) -> None:
    """Both edits read the same version and race to save: DynamoDB's conditional write lets one
    through. (DynamoDB Local: moto is not thread-safe.)"""
    import threading

    from healthscore.domain.access import Caller
    from healthscore.domain.errors import Conflict
    from healthscore.services.definitions import Definitions

    seeded(stack)
    definition = stack.admin("acme").post("/definitions", minimal()).body
    service = Definitions(stack.store, lambda account, job: None)
    who = Caller(
        "acme", "u", frozenset({"manage_customer_success_settings"}), frozenset({"service"})
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    real_save = stack.store.save

    def save_after_both_read(item: Any) -> None:
        barrier.wait(timeout=10)  # both have passed the version check before either saves
        real_save(item)

    stack.store.save = save_after_both_read  # type: ignore[method-assign]

    def edit(points: int) -> None:
        try:
            service.edit_definition(
                who, definition["id"], minimal(points=points), definition["version"]
            )
            outcomes.append("saved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(p,)) for p in (11, 12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    stored = stack.store.definition("acme", definition["id"])
    assert stored is not None
    assert stored.version == definition["version"] + 1
