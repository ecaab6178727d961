"""Import a HubSpot portal into a portable dataset folder: records with the properties the
definitions and segments read, associations with their labels, engagements as events.

Resumable and incremental. Every page lands in a staging file under `<folder>/.hubspot/`
before the checkpoint (`checkpoint.json`) records it, so a run killed at any point resumes
where it stopped: the staged lines past the checkpoint are dropped and fetched again, nothing
is missed or duplicated. A run after a finished one fetches only what HubSpot says changed
since that one started (search by `hs_lastmodifieddate`), and re-reads those records'
associations. The dataset files (`records.jsonl`, `associations.jsonl`, `events.jsonl`) are
rebuilt from the staging files at the end of each run: the latest line of each thing wins.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from healthscore.adapters.dataset_files import event_row
from healthscore.adapters.hubspot_crm import PAGE, Page
from healthscore.domain.dataset import Event
from healthscore.domain.hubspot_mapping import (
    ENGAGEMENT_TYPES,
    RECORD_TYPES,
    SYSTEM_PROPERTIES,
    engagement_properties,
    events_from,
    record_from,
)

STAGING = ".hubspot"
# Whose associations are read (each pair once, from the first type's side).
LINKED_PAIRS = (
    ("companies", "contacts"),
    ("companies", "deals"),
    ("companies", "tickets"),
    ("contacts", "deals"),
    ("contacts", "tickets"),
    ("deals", "tickets"),
)
OWNER_TYPES = ("contacts", "companies")
# A search stops at 10,000 results: past this offset it starts again from the last change seen.
SEARCH_WINDOW = 9_800
# HubSpot's clocks and ours: a sync re-reads what changed shortly before the last one started.
OVERLAP = timedelta(minutes=5)


class Crm(Protocol):
    requests: int

    def page(self, object_type: str, properties: list[str], after: str | None = None) -> Page: ...

    def modified_since(
        self, object_type: str, properties: list[str], since: datetime, after: str | None = None
    ) -> Page: ...

    def associations(
        self, from_type: str, to_type: str, ids: list[str]
    ) -> dict[str, list[tuple[str, list[str]]]]: ...


@dataclass
class ImportResult:
    fetched: dict[str, int] = field(default_factory=dict)  # object type → objects read
    requests: int = 0
    incremental: bool = False
    records: int = 0
    associations: int = 0
    events: int = 0


class Checkpoint:
    """What a run has fetched so far, phase by phase, with the staged line counts."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STAGING / "checkpoint.json"
        self.state: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def phase(self, name: str) -> dict[str, Any]:
        phase: dict[str, Any] = self.state.setdefault("phases", {}).setdefault(name, {})
        return phase

    def save(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.state, sort_keys=True))
        os.replace(temporary, self.path)  # atomic: a kill leaves the old or the new one


class Staged:
    """A run's staging file of JSON lines; `keep(n)` drops what a killed run wrote past line n."""

    def __init__(self, folder: Path, name: str, run: int) -> None:
        self.path = folder / STAGING / f"{name}.{run}.jsonl"

    def keep(self, lines: int) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as source:
            kept = [line for _, line in zip(range(lines), source, strict=False)]
        with self.path.open("wb") as target:
            target.writelines(kept)

    def append(self, rows: Iterable[dict[str, Any]]) -> int:
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
        with self.path.open("a", encoding="utf-8") as target:
            target.write(text)
            target.flush()
            os.fsync(target.fileno())
        return text.count("\n")

    def rows(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as source:
            for line in source:
                yield json.loads(line)


def import_portal(
    crm: Crm,
    folder: Path,
    properties: dict[str, set[str]],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[str, int], None] = lambda phase, count: None,
) -> ImportResult:
    """Fetch (or resume, or sync) the portal into `folder`; rebuild the dataset files."""
    (folder / STAGING).mkdir(parents=True, exist_ok=True)
    checkpoint = Checkpoint(folder)
    state = checkpoint.state
    if state.get("finished"):  # the last run completed: this one is a sync
        state.update(
            since=state["started_at"],
            started_at=now().isoformat(),
            finished=False,
            phases={},
            run=state["run"] + 1,
        )
    elif "started_at" not in state:
        state.update(since=None, started_at=now().isoformat(), finished=False, phases={}, run=1)
    checkpoint.save()
    since = datetime.fromisoformat(state["since"]) - OVERLAP if state.get("since") else None
    result = ImportResult(incremental=since is not None)
    start_requests = crm.requests
    changed: dict[str, list[str]] = {}
    for object_type in RECORD_TYPES:
        wanted = sorted(properties.get(object_type, set()) | set(SYSTEM_PROPERTIES))
        report = functools.partial(progress, object_type)
        changed[object_type] = _objects(crm, checkpoint, folder, object_type, wanted, since, report)
        result.fetched[object_type] = len(changed[object_type])
        report(len(changed[object_type]))
    for from_type, to_type in LINKED_PAIRS:
        report = functools.partial(progress, f"{from_type}→{to_type}")
        _links(crm, checkpoint, folder, from_type, to_type, changed[from_type], report)
    for object_type in ENGAGEMENT_TYPES:
        wanted = engagement_properties(object_type)
        report = functools.partial(progress, object_type)
        ids = _objects(crm, checkpoint, folder, object_type, wanted, since, report)
        result.fetched[object_type] = len(ids)
        for owner in OWNER_TYPES:
            links = functools.partial(progress, f"{object_type}→{owner}")
            _links(crm, checkpoint, folder, object_type, owner, ids, links)
    state["finished"] = True
    checkpoint.save()
    result.requests = crm.requests - start_requests
    result.records, result.associations, result.events = assemble(folder, properties, state["run"])
    return result


def _objects(
    crm: Crm,
    checkpoint: Checkpoint,
    folder: Path,
    object_type: str,
    wanted: list[str],
    since: datetime | None,
    report: Callable[[int], None] = lambda count: None,
) -> list[str]:
    """Fetch the objects of a type page by page (all, or changed since); the ids fetched.
    `report` hears how many lines are staged after each page."""
    phase = checkpoint.phase(f"objects:{object_type}")
    staged = Staged(folder, f"objects-{object_type}", checkpoint.state["run"])
    staged.keep(phase.get("lines", 0))
    if not phase.get("done"):
        window = datetime.fromisoformat(phase["window"]) if phase.get("window") else since
        after = phase.get("after")
        while True:
            if window is None:
                page = crm.page(object_type, wanted, after)
            else:
                page = crm.modified_since(object_type, wanted, window, after)
            rows = [{"object_type": object_type, **item} for item in page.results]
            phase["lines"] = phase.get("lines", 0) + staged.append(rows)
            after = page.after
            if window is not None and after is not None and int(after) >= SEARCH_WINDOW:
                window = max(_modified(r) for r in rows)  # a new search from the last change
                phase["window"], after = window.isoformat(), None
            phase["after"] = after
            checkpoint.save()
            report(phase["lines"])
            if after is None:
                break
        phase["done"] = True
        checkpoint.save()
    return list(dict.fromkeys(row["id"] for row in staged.rows()))


def _modified(row: dict[str, Any]) -> datetime:
    text = str(row["properties"].get("hs_lastmodifieddate", "")).replace("Z", "+00:00")
    return datetime.fromisoformat(text)


def _links(
    crm: Crm,
    checkpoint: Checkpoint,
    folder: Path,
    from_type: str,
    to_type: str,
    ids: list[str],
    report: Callable[[int], None] = lambda count: None,
) -> None:
    """Read the associations of `ids` in batches, each batch staged then checkpointed."""
    phase = checkpoint.phase(f"links:{from_type}:{to_type}")
    staged = Staged(folder, f"links-{from_type}-{to_type}", checkpoint.state["run"])
    staged.keep(phase.get("lines", 0))
    done = phase.get("done_ids", 0)
    for start in range(done, len(ids), PAGE):
        batch = ids[start : start + PAGE]
        found = crm.associations(from_type, to_type, batch)
        rows = [
            {"from": [from_type, i], "to_type": to_type, "links": found.get(i, [])} for i in batch
        ]
        phase["lines"] = phase.get("lines", 0) + staged.append(rows)
        phase["done_ids"] = start + len(batch)
        checkpoint.save()
        report(phase["done_ids"])
    report(len(ids))


def assemble(folder: Path, properties: dict[str, set[str]], runs: int) -> tuple[int, int, int]:
    """Rebuild the dataset files from every run's staged lines, in order: the latest line of
    each object, and of each object's associations to a type, wins."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    links: dict[tuple[str, str, str], list[list[Any]]] = {}
    for run in range(1, runs + 1):
        for object_type in (*RECORD_TYPES, *ENGAGEMENT_TYPES):
            for row in Staged(folder, f"objects-{object_type}", run).rows():
                latest[(object_type, row["id"])] = row
        for from_type, to_type in (*LINKED_PAIRS, *_owner_pairs()):
            for row in Staged(folder, f"links-{from_type}-{to_type}", run).rows():
                links[(from_type, row["from"][1], to_type)] = row["links"]
    records = [
        record_from(t, row, frozenset(properties.get(t, set())))
        for (t, _), row in sorted(latest.items())
        if t in RECORD_TYPES
    ]
    with (folder / "records.jsonl").open("w", encoding="utf-8") as out:
        for record in records:
            row = {"object_type": record.object_type, "id": record.id}
            out.write(json.dumps({**row, "properties": dict(record.properties)}) + "\n")
    associations = 0
    with (folder / "associations.jsonl").open("w", encoding="utf-8") as out:
        for (from_type, from_id, to_type), targets in sorted(links.items()):
            if from_type not in RECORD_TYPES:
                continue
            for to_id, labels in targets:
                line = {"from_type": from_type, "from_id": from_id, "to_type": to_type}
                out.write(json.dumps({**line, "to_id": to_id, "labels": labels}) + "\n")
                associations += 1
    events: list[Event] = []
    for (object_type, oid), row in sorted(latest.items()):
        if object_type in ENGAGEMENT_TYPES:
            owners = [
                (owner, target)
                for owner in OWNER_TYPES
                for target, _labels in links.get((object_type, oid, owner), [])
            ]
            events += events_from(object_type, row, owners)
    with (folder / "events.jsonl").open("w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event_row(event)) + "\n")
    return len(records), associations, len(events)


def _owner_pairs() -> list[tuple[str, str]]:
    return [(e, o) for e in ENGAGEMENT_TYPES for o in OWNER_TYPES]
