"""Shared set-up for the incremental-scoring tests: tables, a portfolio loaded as data (not
scored), a live score, and a clock the test moves."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from healthscore.adapters.dataset_files import read_dataset
from healthscore.adapters.dynamo_store import DynamoStore, now
from healthscore.domain.dataset import AssociationLine, Dataset
from healthscore.services.recompute import recompute

ROOT = Path(__file__).parents[2]
CUSTOMER_HEALTH = json.loads((ROOT / "docs/examples/customer-health-score.json").read_text())


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


@dataclass
class Clock:
    at: datetime

    def __call__(self) -> datetime:
        return self.at

    def to(self, day: date) -> None:
        self.at = midnight(day) + timedelta(hours=1)


def load_data(store: DynamoStore, account: str, folder: Path) -> Dataset:
    """Records, links and segments stored as they are (events are left for the test to send)."""
    data = read_dataset(folder)
    for line in (folder / "segments.jsonl").read_text().splitlines():
        body = json.loads(line)
        store.new_segment(account, body["id"], body).save()
    for record in data.all_records():
        store.put_record(account, record)
    for one, other, labels in data.association_pairs():
        if one < other:
            store.put_association(account, AssociationLine(*one, *other, tuple(sorted(labels))))
    return data


def make_live(
    store: DynamoStore,
    account: str,
    definition_id: str,
    raw: dict[str, Any],
    revision: int = 1,
    as_of: datetime | None = None,
) -> None:
    """Turn the score on as the API does: the live revision, then the initial computation."""
    at = now()
    store.new_definition(
        account,
        definition_id,
        name=raw["name"],
        object_type=raw["object_type"],
        state="live",
        live=raw,
        live_revision=revision,
        created_at=at,
        updated_at=at,
        updated_by="tests",
    ).save()
    recompute(store, account, definition_id, f"turn-on-{revision}", as_of or at)


def publish_revision(
    store: DynamoStore, account: str, definition_id: str, raw: dict[str, Any], revision: int
) -> None:
    """A new live revision, before its recompute has run."""
    item = store.definition(account, definition_id)
    assert item is not None
    item.live, item.live_revision = raw, revision
    store.save(item)


@dataclass
class Published:
    """An EventBridge stand-in that keeps what was published."""

    changes: list[Any] = field(default_factory=list)

    def publish(self, changes: Any) -> None:
        self.changes.extend(changes)


def stored_scores(store: DynamoStore, account: str, definition_id: str) -> dict[str, Any]:
    return {
        store.state_owner(item)[2][1]: (int(item.score), item.status, item.groups)
        for item in store.scores(account, definition_id)
    }
