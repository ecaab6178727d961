"""The order of changes: every fact is decided by its latest change, whatever order changes
arrive in.

A change's **stamp** is `<occurredAt, 15 digits>|<its id>`: text that sorts as (occurredAt, id),
so comparing two stamps compares when the changes happened and breaks ties by the change's own
id (HubSpot's `eventId`, else a hash of the change's content) — every node decides a tie the
same way. The empty stamp sorts before every other: data stored before stamps existed loses to
any change.

Facts and their registers (last writer wins by stamp):
- a property of a record: the stamp of the change that last set or removed it;
- a record's existence: the latest creation, restore or property change (`alive`) against the
  latest deletion (`deleted`, its tombstone); the record is visible while `alive > deleted`,
  and a change older than the tombstone is ignored;
- a link between two records: the stamp of its latest addition, label change or removal (a
  removal leaves a tombstone on the pair); a link change older than either end's tombstone is
  ignored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from healthscore.domain.change_messages import encode_change
from healthscore.domain.changes import Change, EventArrived, PropertiesChanged
from healthscore.domain.dataset import Record, RecordKey, StoredLink, StoredRecord

NONE = ""  # the stamp of "never changed": older than every change


def stamp(occurred_at_ms: int, change_id: str) -> str:
    return f"{max(occurred_at_ms, 0):015d}|{change_id}"


def parse_stamp(text: str) -> tuple[int, str]:
    """(occurredAt, id) of a stamp; (0, "") for the empty one."""
    millis, _, change_id = text.partition("|")
    return (int(millis) if millis.isdigit() else 0), change_id


def change_stamp(change: Change) -> str:
    """The change's stamp: when it happened, and its id or a hash of its content."""
    if isinstance(change, EventArrived):
        e = change.event
        return stamp(int(e.occurred_at.timestamp() * 1000), e.id)
    change_id = change.change_id or _content_hash(change)
    return stamp(change.occurred_at_ms, change_id)


def legacy_stamp(value: object) -> str:
    """A stored time as a stamp: stamps as they are; epoch ms (stored before stamps) without
    an id; anything else as never changed."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return stamp(int(value), "")
    return NONE


def _content_hash(change: Change) -> str:
    return "h" + hashlib.sha256(encode_change("", change).encode()).hexdigest()[:20]


LISTS = "#lists"  # the register of a record's list memberships, beside its properties'


def with_properties(
    stored: StoredRecord | None, key: RecordKey, change: PropertiesChanged, at: str
) -> StoredRecord | None:
    """The record after a creation, restore or property change stamped `at`; None when the
    change is older than what is stored (the tombstone, or every property it names)."""
    old = stored or StoredRecord(Record(*key))
    if old.deleted and at < old.deleted:
        return None  # older than the record's deletion
    if old.merged_into is not None:
        return None  # merged away for good: its changes are the primary's business
    properties = dict(old.record.properties)
    times = dict(old.property_times)
    names = set(change.properties) | (set(properties) if change.replace else set())
    for name in names:
        if times.get(name, NONE) > at:
            continue  # a later change of this property is already stored
        times[name] = at
        value = change.properties.get(name)
        if value is None:
            properties.pop(name, None)
        else:
            properties[name] = value
    lists = old.record.lists
    if change.lists is not None and times.get(LISTS, NONE) <= at:
        lists, times[LISTS] = frozenset(change.lists), at
    alive = max(old.alive, at)
    new = StoredRecord(
        Record(key[0], key[1], properties, lists),
        times,
        old.version,
        alive,
        old.deleted,
        old.merged_into,
    )
    if stored is not None and (new.record, new.property_times, new.alive) == (
        old.record,
        old.property_times,
        old.alive,
    ):
        return None  # nothing new
    return new


def with_deletion(
    stored: StoredRecord | None, key: RecordKey, at: str, merged_into: str | None
) -> StoredRecord | None:
    """The record after a deletion stamped `at` (its tombstone: what was set before goes);
    None when a later deletion is already stored. The losing side of a merge (`merged_into`)
    is gone for good, whatever changes of it are newer."""
    old = stored or StoredRecord(Record(*key))
    newly_merged = merged_into is not None and old.merged_into is None
    if old.deleted and at <= old.deleted and not newly_merged:
        return None
    deleted = max(old.deleted, at)
    merged = merged_into if newly_merged else old.merged_into
    # a merged record never comes back: nothing of its own survives
    times = {n: t for n, t in old.property_times.items() if t > deleted and merged is None}
    properties = {n: v for n, v in old.record.properties.items() if n in times}
    lists = old.record.lists if LISTS in times else frozenset()
    return StoredRecord(
        Record(key[0], key[1], properties, lists), times, old.version, old.alive, deleted, merged
    )


def link_change_applies(
    link: StoredLink | None, ends: Iterable[StoredRecord | None], at: str
) -> bool:
    """Whether a link change stamped `at` is newer than the link's register and than both
    ends' deletions."""
    if link is not None and link.stamp >= at:
        return False
    return all(end is None or not end.deleted or end.deleted < at for end in ends)
