"""An account's data exported for the recompute, in the portable dataset format (docs/decisions.md),
already split into shards so no single invocation holds the whole population.

The scored records (the definition's object type) are split by a stable hash of their id into
`ceil(n / shard_size)` shards; each shard folder holds its scored records, their associations,
the associated records, and the events that can score them (their own and, for a companies
score, their contacts'). A contact linked to companies in two shards is written to both.

Streaming: records, links and events are read page by page and appended to the shard files in
buffered chunks; only the map "associated record → shards that need it" is kept in memory.
Storage is a local folder (the local stack, tests) or S3 (on AWS: the Step Functions map reads
the manifest and each shard invocation downloads only its shard).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from healthscore.adapters.dataset_files import event_row
from healthscore.domain.dataset import RecordKey, StoredRecord
from healthscore.domain.ordering import parse_stamp
from healthscore.ports import AccountData

FILES = ("records.jsonl", "associations.jsonl", "events.jsonl", "segments.jsonl")
FLUSH_LINES = 2_000
MANIFEST = "manifest.json"
LINK_SECONDS = 3600  # how long a download link of an analyst's export works


def shard_of(record_id: str, shards: int) -> int:
    """Stable across processes and machines (unlike Python's salted `hash`)."""
    return zlib.crc32(record_id.encode()) % shards


def shard_name(shard: int) -> str:
    return f"shard-{shard:05d}"


@dataclass(frozen=True)
class Manifest:
    account_id: str
    definition_id: str
    revision: int
    job_id: str
    object_type: str
    as_of: str
    shards: int
    records: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ExportStorage(Protocol):
    def publish(self, name: str, folder: Path) -> None:
        """Make a written folder available under `name`."""

    def fetch(self, name: str) -> Path:
        """A local folder holding what was published under `name`."""

    def put_json(self, name: str, value: Any) -> None: ...

    def get_json(self, name: str) -> Any: ...

    def link(self, name: str) -> str:
        """A URL the caller can download `name` from (a published folder's file)."""


class LocalExports:
    """Exports in a folder on this machine."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def publish(self, name: str, folder: Path) -> None:
        target = self.root / name
        if folder.resolve() != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target)

    def fetch(self, name: str) -> Path:
        return self.root / name

    def put_json(self, name: str, value: Any) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))

    def get_json(self, name: str) -> Any:
        return json.loads((self.root / name).read_text())

    def link(self, name: str) -> str:
        """A file:// URL: the local stack's API and its caller share this machine."""
        return (self.root / name).resolve().as_uri()


class S3Exports:
    """Exports in S3 under `prefix` (the recompute's export bucket on AWS)."""

    def __init__(self, bucket: str, prefix: str, s3: Any) -> None:
        self.bucket, self.prefix, self.s3 = bucket, prefix.rstrip("/"), s3

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def publish(self, name: str, folder: Path) -> None:
        for path in sorted(folder.iterdir()):
            self.s3.upload_file(str(path), self.bucket, self._key(f"{name}/{path.name}"))

    def fetch(self, name: str) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="healthscore-shard-"))
        for file in FILES:
            self.s3.download_file(self.bucket, self._key(f"{name}/{file}"), str(folder / file))
        return folder

    def put_json(self, name: str, value: Any) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self._key(name), Body=json.dumps(value).encode())

    def get_json(self, name: str) -> Any:
        body = self.s3.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()
        return json.loads(body)

    def link(self, name: str) -> str:
        """A presigned GET, valid for LINK_SECONDS (and no longer than the signer's session)."""
        return str(
            self.s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._key(name)},
                ExpiresIn=LINK_SECONDS,
            )
        )


class _ShardFiles:
    """Buffered appends to every shard's four files under one local folder."""

    def __init__(self, root: Path, shards: int) -> None:
        self.root, self.shards = root, shards
        self.buffers: dict[tuple[int, str], list[str]] = defaultdict(list)
        for shard in range(shards):
            folder = root / shard_name(shard)
            folder.mkdir(parents=True, exist_ok=True)
            for file in FILES:
                (folder / file).write_text("")

    def add(self, shard: int, file: str, row: dict[str, Any]) -> None:
        buffer = self.buffers[(shard, file)]
        buffer.append(json.dumps(row, ensure_ascii=False))
        if len(buffer) >= FLUSH_LINES:
            self._flush(shard, file)

    def _flush(self, shard: int, file: str) -> None:
        buffer = self.buffers.pop((shard, file), [])
        if buffer:
            with (self.root / shard_name(shard) / file).open("a", encoding="utf-8") as out:
                out.write("\n".join(buffer) + "\n")

    def close(self) -> None:
        for shard, file in list(self.buffers):
            self._flush(shard, file)


def record_row(stored: StoredRecord, outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A record as a line of records.jsonl; `outputs` (property → record id → value) are scores'
    outputs set on it as they are stored (an absent value removes the property)."""
    record = stored.record
    properties = dict(record.properties)
    for name, values in outputs.items():
        properties.pop(name, None)
        if values.get(record.id) is not None:
            properties[name] = values[record.id]
    return {
        "object_type": record.object_type,
        "id": record.id,
        "properties": properties,
        "lists": sorted(record.lists),
    }


def property_change_rows(stored: StoredRecord, dated: Iterable[str]) -> Iterator[dict[str, Any]]:
    """property_changes.jsonl lines for the `dated` properties (what freshness rules read): the
    last change of each, so the day it was set is known."""
    record = stored.record
    for name in sorted(set(dated) & set(record.properties)):
        millis, _id = parse_stamp(stored.property_times.get(name, ""))
        value = record.properties[name]
        if millis and not isinstance(value, list | dict):
            yield {
                "object_type": record.object_type,
                "id": record.id,
                "property": name,
                "value": value,
                "changed_at": millis,
            }


def export_shards(
    store: AccountData,
    storage: ExportStorage,
    *,
    account: str,
    definition_id: str,
    revision: int,
    job_id: str,
    object_type: str,
    as_of: str,
    shard_size: int,
    dated: Iterable[str] = (),
    outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Manifest:
    """Export the account, sharded for scoring `object_type` records; publish every shard and
    the manifest. The events of associated contacts are included for a companies score; the
    `dated` properties of scored records (what freshness rules read) come with a change line
    for their last change, so the day they were set is known; `outputs` (property → record id →
    value) are other scores' outputs the score reads, set on its records as they are stored."""
    dated = set(dated)
    outputs = outputs or {}
    records = store.count_records(account, object_type)
    shards = max(1, -(-records // shard_size))
    needed: dict[RecordKey, set[int]] = defaultdict(set)
    with tempfile.TemporaryDirectory(prefix="healthscore-export-") as work:
        files = _ShardFiles(Path(work), shards)
        for line in store.all_associations(account):
            row: dict[str, Any] = {
                "from_type": line.from_type,
                "from_id": line.from_id,
                "to_type": line.to_type,
                "to_id": line.to_id,
                "labels": list(line.labels),
            }
            ends = ((line.from_type, line.from_id), (line.to_type, line.to_id))
            written: set[int] = set()
            for one, other in (ends, ends[::-1]):
                if one[0] == object_type:
                    shard = shard_of(one[1], shards)
                    needed[other].add(shard)
                    if shard not in written:
                        written.add(shard)
                        files.add(shard, "associations.jsonl", row)
        for stored in store.all_stored_records(account):
            record = stored.record
            scored = record.object_type == object_type
            if scored:
                for change in property_change_rows(stored, dated):
                    files.add(shard_of(record.id, shards), "property_changes.jsonl", change)
            row = record_row(stored, outputs if scored else {})
            targets = set(needed.get(record.key, ()))
            if scored:
                targets.add(shard_of(record.id, shards))
            for shard in targets:
                files.add(shard, "records.jsonl", row)
        contact_events = object_type == "companies"
        for event in store.all_events(account):
            targets = set()
            if event.object_type == object_type:
                targets.add(shard_of(event.object_id, shards))
            if contact_events and event.object_type == "contacts":
                targets |= needed.get(event.owner, set())
            if not targets:
                continue
            row = event_row(event)
            for shard in targets:
                files.add(shard, "events.jsonl", row)
        segments = store.segment_bodies(account)
        for shard in range(shards):
            for segment in segments:
                files.add(shard, "segments.jsonl", segment)
        files.close()
        prefix = f"{job_id}/"
        for shard in range(shards):
            storage.publish(prefix + shard_name(shard), Path(work) / shard_name(shard))
    manifest = Manifest(
        account, definition_id, revision, job_id, object_type, as_of, shards, records
    )
    storage.put_json(f"{job_id}/{MANIFEST}", manifest.to_json())
    return manifest
