"""A HubSpot portal in, through HubSpot's own SDK against the fake HubSpot: the import's scores
equal the batch engine's on the same data as a portable dataset; a killed import resumes with
nothing missing or doubled; a sync fetches only what changed; 429s and server errors are waited
out."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healthscore.adapters.dataset_files import event_row, read_dataset
from healthscore.dev.fake_hubspot import Portal
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.hubspot_mapping import engagement_of, events_from
from healthscore.domain.validation import parse_definition
from healthscore.services.hubspot_import import import_portal
from healthscore.services.scoring import Engine, score_rows
from tests.integration.conftest import AS_OF, DEFINITION, TOKEN, Fake, wanted

ROOT = Path(__file__).parents[2]


def as_hubspot_holds_it(portfolio: Path, folder: Path) -> Path:
    """The same data as HubSpot's CRM objects can hold it, as a portable dataset: the records
    and associations, and the events that are engagements (as the import maps them)."""
    folder.mkdir(parents=True)
    for name in ("records.jsonl", "associations.jsonl", "segments.jsonl"):
        shutil.copyfile(portfolio / name, folder / name)
    with (folder / "events.jsonl").open("w") as out:
        for event in read_dataset(portfolio).all_events():
            engagement = engagement_of(event)
            if engagement is None:
                continue
            object_type, properties = engagement
            item = {"id": event.id, "properties": properties}
            for mapped in events_from(object_type, item, [(event.object_type, event.object_id)]):
                out.write(json.dumps(event_row(mapped)) + "\n")
    return folder


def scores(folder: Path) -> dict[str, tuple[int, str]]:
    definition = parse_definition(json.loads(DEFINITION.read_text()))
    rows = score_rows(definition, folder, AS_OF, Engine.POLARS)
    return {r["id"]: (r["score"], r["status"]) for r in rows}


def test_an_imported_portal_scores_as_the_same_data_does(
    fake: Fake, portfolio: Path, tmp_path: Path
) -> None:
    target = tmp_path / "imported"
    crm = fake.crm()
    result = import_portal(crm, target, wanted(portfolio))
    shutil.copyfile(portfolio / "segments.jsonl", target / "segments.jsonl")
    expected = scores(as_hubspot_holds_it(portfolio, tmp_path / "expected"))
    assert len(expected) >= 50
    assert scores(target) == expected
    source = read_dataset(portfolio)
    assert result.records == len(source.all_records())
    assert result.associations == sum(
        1 for one, other, _ in source.association_pairs() if one < other
    )
    # only the properties the definition and the segments read were asked for
    asked = [b for b in fake.portal.bodies if b[0] == "GET" and "/objects/companies" in b[1]]
    assert asked
    assert all("properties=" in path for _, path, *_ in asked)
    imported = read_dataset(target).record(("companies", source.all_records()[0].id))
    assert set(imported.properties) <= wanted(portfolio)["companies"] | {"hs_object_id"}
    assert result.requests == crm.requests == len(fake.portal.requests)


def test_a_sync_fetches_only_what_changed(fake: Fake, portfolio: Path, tmp_path: Path) -> None:
    target = tmp_path / "synced"
    import_portal(fake.crm(), target, wanted(portfolio))
    shutil.copyfile(portfolio / "segments.jsonl", target / "segments.jsonl")
    before = scores(target)
    changed = sorted(before)[:10]
    for company in changed:
        fake.portal.put("companies", company, {"nps_score": "0"}, datetime.now(UTC))
    served = len(fake.portal.requests)
    crm = fake.crm()
    result = import_portal(crm, target, wanted(portfolio))
    assert result.incremental
    assert result.fetched["companies"] == 10
    assert sum(result.fetched.values()) == 10
    # a search per type, plus the ten companies' associations (3 batch reads)
    assert result.requests == len(fake.portal.requests) - served == 8 + 3
    after = scores(target)
    moved = [c for c in changed if after[c] != before[c]]
    assert moved  # an NPS of 0 costs points
    assert {c: s for c, s in after.items() if c not in changed} == {
        c: s for c, s in before.items() if c not in changed
    }


def test_rate_limits_and_server_errors_are_waited_out(
    fake: Fake, portfolio: Path, tmp_path: Path
) -> None:
    fake.portal.throttle_every, fake.portal.error_rate = 4, 0.1
    crm = fake.crm()
    import_portal(crm, tmp_path / "throttled", wanted(portfolio))
    refused = [s for _, _, s in fake.portal.requests if s != 200]
    assert crm.throttled > 0
    assert any(s >= 500 for s in refused)
    fake.portal.throttle_every, fake.portal.error_rate = 0, 0.0
    import_portal(fake.crm(), tmp_path / "calm", wanted(portfolio))
    for name in ("records.jsonl", "associations.jsonl", "events.jsonl"):
        assert (tmp_path / "throttled" / name).read_text() == (tmp_path / "calm" / name).read_text()


def test_a_killed_import_resumes_with_nothing_missing_or_doubled(
    fake: Fake, portfolio: Path, tmp_path: Path
) -> None:
    fake.portal.budget, fake.portal.window = 4, 0.25  # slow enough to be caught halfway
    target = tmp_path / "resumed"
    command = [
        sys.executable, "-m", "healthscore", "hubspot", "import", "--to", str(target),
        "--definition", str(DEFINITION), "--segments", str(portfolio / "segments.jsonl"),
        "--base-url", fake.url,
    ]  # fmt: skip
    env = {**os.environ, "HUBSPOT_TOKEN": TOKEN}
    running = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    checkpoint = target / ".hubspot" / "checkpoint.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = json.loads(checkpoint.read_text()) if checkpoint.exists() else {}
        if state.get("phases", {}).get("objects:contacts", {}).get("lines"):
            break
        time.sleep(0.05)
    running.send_signal(signal.SIGKILL)
    running.wait(timeout=30)
    assert not json.loads(checkpoint.read_text()).get("finished"), "killed after it finished"
    fake.portal.budget = None
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "imported:" in again.stdout
    whole = tmp_path / "whole"
    import_portal(fake.crm(), whole, wanted(portfolio))
    for name in ("records.jsonl", "associations.jsonl", "events.jsonl"):
        assert (target / name).read_text() == (whole / name).read_text(), name


@pytest.mark.soak
def test_ten_thousand_companies_import_and_score_as_the_same_data(tmp_path: Path) -> None:
    """The acceptance's size: 10,000 companies with their contacts, deals, tickets, labelled
    associations and a year of engagements, through the SDK; prints time and requests."""
    portfolio = tmp_path / "portfolio"
    generate_portfolio(portfolio, 10_000, seed=8, until=AS_OF.date())
    source = read_dataset(portfolio)
    running = Fake(Portal.from_dataset(source, modified=datetime.now(UTC) - timedelta(hours=1)))
    target = tmp_path / "imported"
    try:
        crm = running.crm()
        started = time.perf_counter()
        result = import_portal(crm, target, wanted(portfolio))
        took = time.perf_counter() - started
        shutil.copyfile(portfolio / "segments.jsonl", target / "segments.jsonl")
        expected = scores(as_hubspot_holds_it(portfolio, tmp_path / "expected"))
        assert len(expected) >= 9_000
        assert scores(target) == expected
        # the acceptance's sync: 100 companies changed in the portal, only those fetched
        changed = sorted(expected)[:: len(expected) // 100][:100]
        for company in changed:
            running.portal.put("companies", company, {"nps_score": "0"}, datetime.now(UTC))
        served = len(running.portal.requests)
        synced = import_portal(running.crm(), target, wanted(portfolio))
        sync_requests = len(running.portal.requests) - served
    finally:
        running.server.shutdown()
    assert synced.incremental
    assert synced.fetched == {t: 100 if t == "companies" else 0 for t in synced.fetched}
    # a search per type (100 changes fit one page), the companies' links to three types
    assert synced.requests == sync_requests == 8 + 3
    after = scores(target)
    assert [c for c in changed if after[c] != expected[c]]
    assert {c: v for c, v in after.items() if c not in changed} == {
        c: v for c, v in expected.items() if c not in changed
    }
    print(
        f"\n10,000 companies: {result.records:,} records, {result.associations:,} associations, "
        f"{result.events:,} events in {took:.1f} s, {result.requests:,} requests "
        f"({result.requests / took:.1f}/s, paced under 150 per 10 s; a private app may send "
        f"190 per 10 s); the sync of 100 changed companies: {sync_requests} requests"
    )
