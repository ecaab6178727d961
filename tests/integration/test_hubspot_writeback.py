"""Scores back into HubSpot through the SDK, against the fake: the property group and both
properties (options = the threshold labels, kept in sync), every in-scope company's score and
status, at most one batch call per 100 records, and everything arriving through 429s and
server errors; every exchange within HubSpot's documents."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from typer.testing import CliRunner

from healthscore.cli import app
from healthscore.domain.hubspot_writeback import ScoreValue, batch_inputs
from healthscore.domain.validation import parse_definition
from healthscore.services.hubspot_import import import_portal
from healthscore.services.hubspot_writeback import ensure_properties, write_back
from healthscore.services.scoring import Engine, score_rows
from tests.integration.conftest import AS_OF, DEFINITION, TOKEN, Fake, checked, wanted

LIVE = parse_definition(json.loads(DEFINITION.read_text()))


def imported(fake: Fake, portfolio: Path, folder: Path) -> list[ScoreValue]:
    import_portal(fake.crm(), folder, wanted(portfolio))
    (folder / "segments.jsonl").write_text((portfolio / "segments.jsonl").read_text())
    rows = score_rows(LIVE, folder, AS_OF, Engine.POLARS)
    return [ScoreValue(r["id"], r["score"], r["status"]) for r in rows]


def test_a_live_score_lands_on_every_company_in_hubspot(
    fake: Fake, portfolio: Path, tmp_path: Path
) -> None:
    values = imported(fake, portfolio, tmp_path / "portal")
    before = len(fake.portal.requests)
    result = write_back(fake.crm(), LIVE, values)
    properties = LIVE.output_properties()
    group = fake.portal.groups["companies"][properties.score.group]
    assert group["label"] == "Customer success"
    score = fake.portal.properties["companies"][properties.score.name]
    status = fake.portal.properties["companies"][properties.status.name]
    assert (score["type"], status["type"], status["fieldType"]) == (
        "number",
        "enumeration",
        "select",
    )
    labels = [t.label for t in reversed(LIVE.thresholds)]
    assert [o["label"] for o in status["options"]] == labels
    assert result.created == [properties.score.name, properties.status.name]
    for value in values:
        held = fake.portal.objects["companies"][value.record_id].properties
        assert (held[properties.score.name], held[properties.status.name]) == (
            str(value.score),
            value.status,
        )
    updates = [p for m, p, _ in fake.portal.requests[before:] if p.endswith("/batch/update")]
    assert len(updates) == result.batches == math.ceil(len(values) / 100)


def test_renamed_labels_update_the_options_and_nothing_is_made_twice(
    fake: Fake, portfolio: Path
) -> None:
    crm = fake.crm()
    assert ensure_properties(crm, LIVE).created
    again = ensure_properties(crm, LIVE)
    assert (again.group_created, again.created, again.updated) == (False, [], [])
    raw = json.loads(DEFINITION.read_text())
    raw["thresholds"][0]["label"] = "Needs attention"
    renamed = parse_definition(raw)
    changed = ensure_properties(crm, renamed)
    assert changed.updated == [renamed.output_properties().status.name]
    options = fake.portal.properties["companies"][renamed.output_properties().status.name][
        "options"
    ]
    assert "Needs attention" in [o["label"] for o in options]


def test_several_changes_of_a_record_are_one_update_with_the_latest() -> None:
    values = [
        ScoreValue("c1", 40, "Neutral", "0001"),
        ScoreValue("c2", 90, "Healthy", "0001"),
        ScoreValue("c1", 20, "At risk", "0003"),
        ScoreValue("c1", 70, "Healthy", "0002"),  # older, arriving late: it loses
    ]
    [batch] = batch_inputs(LIVE, values)
    name = LIVE.output_properties().score.name
    assert [(i["id"], i["properties"][name]) for i in batch] == [("c1", "20"), ("c2", "90")]
    many = batch_inputs(LIVE, [ScoreValue(f"c{n}", 1, "At risk") for n in range(250)])
    assert [len(b) for b in many] == [100, 100, 50]


def test_through_429s_and_server_errors_everything_arrives_within_the_documents(
    fake: Fake,
    portfolio: Path,
    tmp_path: Path,
    documents,
) -> None:
    values = imported(fake, portfolio, tmp_path / "portal")
    fake.portal.bodies.clear()
    fake.portal.throttle_every, fake.portal.error_rate = 3, 0.1
    crm = fake.crm()
    write_back(crm, LIVE, values)
    assert crm.throttled > 0
    name = LIVE.output_properties().status.name
    assert all(
        fake.portal.objects["companies"][v.record_id].properties[name] == v.status for v in values
    )
    assert checked(documents, fake.portal.bodies) > 5


def test_the_cli_writes_a_scored_dataset_back(fake: Fake, portfolio: Path, tmp_path: Path) -> None:
    folder = tmp_path / "portal"
    values = imported(fake, portfolio, folder)
    result = CliRunner().invoke(
        app,
        ["hubspot", "writeback", str(folder), "-d", str(DEFINITION), "--as-of",
         AS_OF.isoformat(), "--base-url", fake.url],
        env={**os.environ, "HUBSPOT_TOKEN": TOKEN},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"wrote {len(values)} companies' scores" in result.output
    missing = CliRunner().invoke(
        app, ["hubspot", "writeback", str(folder), "-d", str(DEFINITION)], env={"HUBSPOT_TOKEN": ""}
    )
    assert missing.exit_code == 2
    assert "HUBSPOT_TOKEN is empty or unset" in missing.output
