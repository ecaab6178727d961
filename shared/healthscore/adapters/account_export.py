"""An account's whole dataset in one folder, in the portable format: what an analyst downloads
(`POST /exports`, the nightly export) and scores or explores offline.

Every visible record with its properties (scores' outputs set as they are stored), every link
once, every event of a record that still exists, the segments, and the change line of each
property a freshness rule reads. Written as it is read, line by line: memory holds no more than
the set of deleted records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from healthscore.adapters.dataset_export import property_change_rows, record_row
from healthscore.adapters.dataset_files import event_row
from healthscore.ports import AccountData

DATASET_FILES = (
    "records.jsonl",
    "associations.jsonl",
    "events.jsonl",
    "segments.jsonl",
    "property_changes.jsonl",
)


def write_account(
    store: AccountData,
    folder: Path,
    account: str,
    *,
    dated: Mapping[str, Iterable[str]] | None = None,
    outputs: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> dict[str, int]:
    """Write the account's dataset into `folder`; lines written per file. `dated`: object type →
    properties whose last change is written; `outputs`: object type → property → record id →
    a score's stored output."""
    dated = {kind: set(names) for kind, names in (dated or {}).items()}
    outputs = outputs or {}
    folder.mkdir(parents=True, exist_ok=True)
    handles: dict[str, TextIO] = {
        name: (folder / name).open("w", encoding="utf-8") for name in DATASET_FILES
    }
    counts = dict.fromkeys(DATASET_FILES, 0)

    def write(name: str, row: Mapping[str, Any]) -> None:
        handles[name].write(json.dumps(row, ensure_ascii=False) + "\n")
        counts[name] += 1

    try:
        for stored in store.all_stored_records(account):
            kind = stored.record.object_type
            write("records.jsonl", record_row(stored, outputs.get(kind, {})))
            for line in property_change_rows(stored, dated.get(kind, ())):
                write("property_changes.jsonl", line)
        for link in store.all_associations(account):
            write(
                "associations.jsonl",
                {
                    "from_type": link.from_type,
                    "from_id": link.from_id,
                    "to_type": link.to_type,
                    "to_id": link.to_id,
                    "labels": list(link.labels),
                },
            )
        gone = store.all_tombstoned(account)
        for event in store.all_events(account):
            if event.owner not in gone:
                write("events.jsonl", event_row(event))
        for segment in store.segment_bodies(account):
            write("segments.jsonl", segment)
    finally:
        for handle in handles.values():
            handle.close()
    return counts
