"""Scores in segments on the local stack as deployed: a segment on one score's status lists
exactly the records with that status (checked against the batch engine), a second score scoped
to that segment follows a status change within one scorer pass (history stream → notify →
changes queue → scorer), with a cause naming the upstream score; a cycle is refused with 409."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from healthscore.domain.plans import Plan
from healthscore.domain.validation import parse_definition
from healthscore.services.scoring import Engine, score_rows
from tests.builders import raw_property_score, self_rule
from tests.e2e.test_local_stack import call
from tests.e2e.test_webhooks_local import _store

UPMARKET = raw_property_score(
    "Upmarket health",
    ["seg-all"],
    self_rule("nps_score", "gte", 8, 60),
    self_rule("employees", "gte", 500, 20),
    healthy=60,
)
READINESS = raw_property_score(
    "Expansion readiness",
    ["seg-healthy-upmarket"],
    self_rule("seats_used_pct", "gte", 80, 70),
)


def _members(url: str, token: str, segment: str) -> list[str]:
    ids, cursor = [], None
    while True:
        query = f"?limit=7&cursor={cursor}" if cursor else "?limit=7"
        status, page = call(f"{url}/segments/{segment}/members{query}", token=token)
        assert status == 200, page
        ids += [m["id"] for m in page["members"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def _turn_on(url: str, token: str, body: dict) -> str:
    status, created = call(f"{url}/definitions", "POST", body, token)
    assert status == 201, created
    path = f"{url}/definitions/{created['id']}/turn-on?version={created['version']}"
    status, on = call(path, "POST", None, token)
    assert status == 202, on
    call(f"{url}/local/drain", "POST")
    return str(created["id"])


def test_a_segment_on_a_status_follows_it_and_feeds_the_score_that_reads_it(
    served, tmp_path: Path
) -> None:
    local, url = served
    account = "segments-on-scores"
    token = local.token(account, plan=Plan.ENTERPRISE)  # more than one live score
    # Given 30 companies, a score on all of them, and a segment on its status
    companies = {
        f"c{i:02d}": {"nps_score": i % 11, "employees": 100 * (i % 9), "seats_used_pct": 3 * i}
        for i in range(30)
    }
    for cid, properties in companies.items():
        status, _ = call(f"{url}/records/companies/{cid}", "PUT", {"properties": properties}, token)
        assert status == 200
    segment = {"name": "All", "object_type": "companies"}
    assert call(f"{url}/segments/seg-all", "PUT", segment, token)[0] == 200
    upmarket = _turn_on(url, token, UPMARKET)
    healthy_upmarket = {
        "name": "Healthy upmarket companies",
        "object_type": "companies",
        "conditions": [
            {"property": "upmarket_health_status", "operator": "eq_any", "values": ["Healthy"]}
        ],
    }
    reply = call(f"{url}/segments/seg-healthy-upmarket", "PUT", healthy_upmarket, token)
    assert reply[0] == 200, reply
    readiness = _turn_on(url, token, READINESS)

    # Then the segment lists exactly the records the batch engine rates Healthy
    folder = tmp_path / "data"
    folder.mkdir()
    lines = [
        {"object_type": "companies", "id": cid, "properties": p} for cid, p in companies.items()
    ]
    (folder / "records.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    (folder / "segments.jsonl").write_text(json.dumps({"id": "seg-all", **segment}) + "\n")
    now = datetime.fromisoformat(call(f"{url}/local/clock")[1]["now"])
    rows = score_rows(parse_definition(UPMARKET), folder, now, Engine.POLARS)
    healthy = sorted(r["id"] for r in rows if r["status"] == "Healthy")
    assert 5 <= len(healthy) < 25, healthy  # a real split, not all or none
    assert _members(url, token, "seg-healthy-upmarket") == healthy
    # and the score scoped to it scores exactly those records
    store = _store(local)
    assert sorted(s.key[1] for s in store.scores(account, readiness)) == healthy

    # When one Healthy company's NPS drops and one At-risk company's rises
    down = healthy[0]
    up = next(r["id"] for r in rows if r["status"] == "At-risk" and r["id"] not in healthy)
    for cid, nps in ((down, 0), (up, 10)):
        body = {"properties": {**companies[cid], "nps_score": nps, "employees": 900}}
        assert call(f"{url}/records/companies/{cid}", "PUT", body, token)[0] == 200
    call(f"{url}/local/drain", "POST")

    # Then the segment and the score that reads it follow within that pass
    expected = sorted({*healthy, up} - {down})
    assert _members(url, token, "seg-healthy-upmarket") == expected
    assert sorted(s.key[1] for s in store.scores(account, readiness)) == expected
    entries = call(f"{url}/definitions/{readiness}/records/companies/{up}/history", token=token)[1][
        "entries"
    ]
    cause = entries[0]["cause"]
    assert "definition_id" in cause, json.dumps(entries, indent=1)
    assert (cause["kind"], cause["definition_id"]) == ("upstream", upmarket), cause
    assert "Upmarket health" in cause["summary"]
    assert "At-risk → Healthy" in cause["summary"]
    gone = call(f"{url}/definitions/{readiness}/records/companies/{down}/history", token=token)
    assert gone[1]["entries"][0]["after"] is None  # it left the segment: no score any more

    # And a score that would read its own status through a segment is refused, naming the path
    status, found = call(f"{url}/definitions/{upmarket}", token=token)
    cyclic = {**UPMARKET, "segments": ["seg-all", "seg-healthy-upmarket"]}
    status, refused = call(
        f"{url}/definitions/{upmarket}?version={found['version']}", "PUT", cyclic, token
    )
    assert status == 409, refused
    assert "'Upmarket health' → 'Upmarket health'" in refused["message"]
    # and so is one that closes a loop through the other score
    ready = {
        "name": "Ready",
        "object_type": "companies",
        "conditions": [
            {
                "property": "expansion_readiness_health_status",
                "operator": "eq_any",
                "values": ["Healthy"],
            }
        ],
    }
    assert call(f"{url}/segments/seg-ready", "PUT", ready, token)[0] == 200
    loop = {**UPMARKET, "segments": ["seg-all", "seg-ready"]}
    status, refused = call(
        f"{url}/definitions/{upmarket}?version={found['version']}", "PUT", loop, token
    )
    assert status == 409, refused
    assert "'Upmarket health' → 'Expansion readiness' → 'Upmarket health'" in refused["message"]
    # as is changing a segment in use so that it closes the loop
    status, refused = call(
        f"{url}/segments/seg-all?version=1",
        "PUT",
        {**segment, "conditions": ready["conditions"]},
        token,
    )
    assert status == 409, refused
