"""A connected portal's CRM into the account's store, as changes for the scorer (the scheduled
`sync` function's use case; `healthscore hubspot import --to DIR` is the offline twin).

Each run reads what HubSpot says changed since the last finished run (the first run: every
object), page by page, and sends it to the changes queue as the same changes webhooks make —
so the scorer applies them with its guarantees (last writer wins per property and per link,
duplicates recognised, tombstones respected), in any order with the webhooks of the same
portal:

- a record: its properties the account's definitions and segments read, each stamped with
  the record's `hs_lastmodifieddate` (a webhook of a later change still wins); a property
  emptied in HubSpot is removed here;
- its associations with labels (the pairs the connector reads), each stamped with the instant
  they were read — links HubSpot no longer lists for the record are removed at that instant, so
  a link added after the read (by webhook) stays;
- engagements (calls, meetings, emails, notes) as events of their contacts and companies,
  mapped by the documented table (an engagement already stored is a duplicate, ignored).

The checkpoint (object type → page cursor, search window) is saved after every page's changes
are enqueued, so a run that stops — its time is up, HubSpot refused — resumes there on the next
schedule: a page may be sent twice, which the scorer's idempotence absorbs; nothing is skipped.
A run after a finished one starts its search `OVERLAP` before the last one started.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from healthscore.domain.change_messages import encode_change
from healthscore.domain.changes import AssociationChanged, Change, EventArrived, PropertiesChanged
from healthscore.domain.dataset import AssociationLine
from healthscore.domain.hubspot_mapping import (
    ENGAGEMENT_TYPES,
    RECORD_TYPES,
    SYSTEM_PROPERTIES,
    engagement_properties,
    events_from,
    properties_read,
    record_from,
)
from healthscore.domain.values import parse_instant
from healthscore.ports import HealthScoreStore
from healthscore.services.hubspot_import import LINKED_PAIRS, OVERLAP, OWNER_TYPES, SEARCH_WINDOW
from healthscore.services.hubspot_import import Crm as ReadableCrm
from healthscore.services.score_writes import LiveRevisions

SYNC_LEASE = "hubspot-sync"


class Sender(Protocol):
    def send(self, messages: Sequence[str], delay: int = 0) -> None: ...


@dataclass
class Synced:
    account: str
    records: int = 0
    links: int = 0
    removed_links: int = 0
    events: int = 0
    messages: int = 0
    requests: int = 0
    finished: bool = False  # False: time ran out (or HubSpot refused); the next run resumes
    incremental: bool = False
    skipped: str = ""  # why nothing was done (no connection, sync off, another run holds it)
    pages: dict[str, int] = field(default_factory=dict)


def sync_account(
    store: HealthScoreStore,
    crm: ReadableCrm,
    queue: Sender,
    account: str,
    *,
    holder: str,
    time_left: Callable[[], float],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Synced:
    """One run for one account, until it finishes or `time_left()` drops under a minute."""
    result = Synced(account)
    connection = store.hubspot_connection(account)
    if connection is None or not connection.sync:
        result.skipped = "not connected" if connection is None else "sync is off"
        return result
    if not store.take_lease(account, SYNC_LEASE, holder, 960):
        result.skipped = "another sync of this account is running"
        return result
    try:
        _run(store, crm, queue, account, result, time_left, now)
    finally:
        store.release_lease(account, SYNC_LEASE, holder)
    return result


def _run(
    store: HealthScoreStore,
    crm: ReadableCrm,
    queue: Sender,
    account: str,
    result: Synced,
    time_left: Callable[[], float],
    now: Callable[[], datetime],
) -> None:
    checkpoint = store.sync_checkpoint(account)
    if checkpoint.get("finished"):  # the last run completed: this one reads what changed since
        checkpoint = {"since": checkpoint["started_at"], "started_at": now().isoformat()}
    elif "started_at" not in checkpoint:
        checkpoint = {"since": None, "started_at": now().isoformat()}
    checkpoint.setdefault("phases", {})
    store.save_sync_checkpoint(account, checkpoint)
    last = parse_instant(checkpoint["since"]) if checkpoint.get("since") else None
    since = last - OVERLAP if last is not None else None
    result.incremental = since is not None
    lives = LiveRevisions(store).of(account)
    wanted = properties_read([live.definition for live in lives], store.segment_list(account))
    owned = {
        name
        for live in lives
        if live.definition.properties is not None
        for name in (live.definition.properties.score.name, live.definition.properties.status.name)
    }  # the write-back's own: written here, never read back as inputs
    start = crm.requests
    kinds = [(t, "record") for t in RECORD_TYPES] + [(t, "engagement") for t in ENGAGEMENT_TYPES]
    for object_type, kind in kinds:
        phase = checkpoint["phases"].setdefault(object_type, {})
        if kind == "record":
            names = sorted((wanted.get(object_type, set()) - owned) | set(SYSTEM_PROPERTIES))
        else:
            names = engagement_properties(object_type)
        while not phase.get("done"):
            if time_left() < 60:
                result.requests = crm.requests - start
                return
            window = parse_instant(phase["window"]) if phase.get("window") else since
            if window is None:
                page = crm.page(object_type, names, phase.get("after"))
            else:
                page = crm.modified_since(object_type, names, window, phase.get("after"))
            read_at = now()
            if kind == "record":
                changes = _records(
                    store, crm, account, object_type, page.results, names, read_at, since is None
                )
            else:
                changes = _engagements(crm, object_type, page.results)
            _count(result, changes)
            queue.send([encode_change(account, change) for change in changes])
            result.messages += len(changes)
            result.pages[object_type] = result.pages.get(object_type, 0) + 1
            after = page.after
            if window is not None and after is not None and int(after) >= SEARCH_WINDOW:
                latest = max(_modified(item) for item in page.results)  # HubSpot's 10,000 cap
                phase["window"], after = latest.isoformat(), None
            phase["after"] = after
            phase["done"] = after is None
            store.save_sync_checkpoint(account, checkpoint)
    checkpoint["finished"] = True
    store.save_sync_checkpoint(account, checkpoint)
    result.finished = True
    result.requests = crm.requests - start


def _records(
    store: HealthScoreStore,
    crm: ReadableCrm,
    account: str,
    object_type: str,
    items: list[dict[str, Any]],
    names: list[str],
    read_at: datetime,
    everything: bool,
) -> list[Change]:
    """The records' properties and links as changes. A run over everything reads each pair's
    links from its first type's side only; a sync reads both (either end may have changed)."""
    wanted = frozenset(names) - set(SYSTEM_PROPERTIES)
    changes: list[Change] = []
    for item in items:
        record = record_from(object_type, item, wanted)
        modified = _modified(item)
        properties = {name: record.properties.get(name) for name in sorted(wanted)}
        changes.append(
            PropertiesChanged(
                object_type,
                record.id,
                properties,
                int(modified.timestamp() * 1000),
                created=True,
                change_id=f"hubspot-sync:{int(modified.timestamp() * 1000)}",
            )
        )
    ids = [str(item["id"]) for item in items]
    stamp = int(read_at.timestamp() * 1000)
    for from_type, to_type in LINKED_PAIRS:
        if not ids or object_type not in (from_type, to_type):
            continue
        if everything and object_type != from_type:
            continue
        other = to_type if object_type == from_type else from_type
        found = crm.associations(object_type, other, ids)
        for oid in ids:
            listed = dict(found.get(oid, []))
            for target, labels in sorted(listed.items()):
                line = AssociationLine(object_type, oid, other, target, tuple(sorted(labels)))
                changes.append(AssociationChanged(line, False, stamp, f"hubspot-sync:{stamp}"))
            for line in store.associations_of(account, (object_type, oid)):
                if line.to_type == other and line.to_id not in listed:
                    gone = AssociationLine(object_type, oid, other, line.to_id, ())
                    changes.append(AssociationChanged(gone, True, stamp, f"hubspot-sync:{stamp}"))
    return changes


def _engagements(crm: ReadableCrm, object_type: str, items: list[dict[str, Any]]) -> list[Change]:
    ids = [str(item["id"]) for item in items]
    owners: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
    for owner in OWNER_TYPES:
        if ids:
            for oid, targets in crm.associations(object_type, owner, ids).items():
                owners.setdefault(oid, []).extend((owner, target) for target, _ in targets)
    return [
        EventArrived(event)
        for item in items
        for event in events_from(object_type, item, owners.get(str(item["id"]), []))
    ]


def _count(result: Synced, changes: list[Change]) -> None:
    for change in changes:
        if isinstance(change, PropertiesChanged):
            result.records += 1
        elif isinstance(change, AssociationChanged):
            if change.removed:
                result.removed_links += 1
            else:
                result.links += 1
        else:
            result.events += 1


def _modified(item: dict[str, Any]) -> datetime:
    found = parse_instant(str((item.get("properties") or {}).get("hs_lastmodifieddate", "")))
    return found or datetime.fromtimestamp(0, UTC)
