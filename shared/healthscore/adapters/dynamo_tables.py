"""The DynamoDB tables as pynamodb models, bound to table names from `Settings`.

Every table's partition key starts with the account id, so no key can reach another tenant's
items: repositories build keys only from the caller's account. Key parts are joined with `#`;
ids are escaped (`%` → `%25`, `#` → `%23`) so a record id containing `#` cannot forge a key.

Layout (pk / sk):
- definitions:        account / definition id
- segments:           account / segment id
- records:            account / type#id (a deleted record stays as a tombstone for 35 days),
                      and the record's links right after it in key order:
                      account / from_type#from_id#to_type#to_id (both directions stored, so a
                      record and its links are one query from either end; ids are escaped, so
                      no other record's key falls between them)
- events:             account / type#id#event id (idempotent: a second put of the id is refused)
- scores:             account#definition / type#id; GSI `next_day` (due_day / type#id, keys
                      only) holds only records with a next change day, so the sweep queries a
                      day (and reads the states it names)
- history:            account#definition#type#id / at#sequence (newest first when reversed)
- output properties:  account / property name
- jobs:               account / job id (TTL: expires_at); `#sweep` / `checkpoint` for the sweep
                      (account ids never contain `#`); account / `#live`: the live marker
- snapshots:          account#definition / segment#day (a live score's daily aggregates)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from healthscore.settings import Settings

SEPARATOR = "#"


def key_part(value: str) -> str:
    return value.replace("%", "%25").replace(SEPARATOR, "%23")


def unkey_part(value: str) -> str:
    return value.replace("%23", SEPARATOR).replace("%25", "%")


def join_key(*parts: str) -> str:
    return SEPARATOR.join(key_part(p) for p in parts)


def split_key(key: str) -> list[str]:
    return [unkey_part(p) for p in key.split(SEPARATOR)]


class _Keyed(Model):
    """pk (partition) and sk (sort), both strings, on every table."""

    class Meta:
        abstract = True

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class DefinitionItem(_Keyed):
    """A health score: its live revision (what scores records) and its draft revision (edits not
    yet published, or the whole score while it has never been turned on)."""

    class Meta:
        abstract = True

    name = UnicodeAttribute()
    object_type = UnicodeAttribute()
    state = UnicodeAttribute()  # draft | live | off
    draft = JSONAttribute(null=True)
    draft_revision = NumberAttribute(default=0)
    live = JSONAttribute(null=True)
    live_revision = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute()
    last_job = UnicodeAttribute(null=True)
    version = VersionAttribute()


class SegmentItem(_Keyed):
    class Meta:
        abstract = True

    body = JSONAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class RecordItem(_Keyed):
    class Meta:
        abstract = True

    object_type = UnicodeAttribute()
    record_id = UnicodeAttribute()
    properties = JSONAttribute(default=dict)
    lists = ListAttribute(of=UnicodeAttribute, default=list)
    # property name → stamp of the change that set it (domain/ordering.py; epoch ms before
    # stamps): later changes win, whatever the order webhooks arrive in
    property_times = JSONAttribute(default=dict)
    alive = UnicodeAttribute(null=True)  # stamp of the latest creation/restore/property change
    deleted = UnicodeAttribute(null=True)  # stamp of the latest deletion
    merged_into = UnicodeAttribute(null=True)
    tombstone = BooleanAttribute(null=True)  # set while deleted and not back: readers skip it
    expires_at = TTLAttribute(null=True)  # tombstones only
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class AssociationItem(_Keyed):
    """A link, stored in the records table under one end's key (both directions are stored)."""

    class Meta:
        abstract = True

    labels = ListAttribute(of=UnicodeAttribute, default=list)
    stamp = UnicodeAttribute(null=True)  # of the change that last set or removed the link
    removed = BooleanAttribute(null=True)  # a removed link's tombstone: readers skip it
    hidden_at = UnicodeAttribute(null=True)  # hidden by an end's deletion (also `removed`)
    expires_at = TTLAttribute(null=True)  # tombstones only
    updated_at = UTCDateTimeAttribute()


class EventItem(_Keyed):
    class Meta:
        abstract = True

    event_type = UnicodeAttribute()
    occurred_at_ms = NumberAttribute()
    properties = JSONAttribute(default=dict)
    received_at = UTCDateTimeAttribute()


class CompactJSONAttribute(JSONAttribute):
    """JSON without spaces and with text as UTF-8, not escapes: every byte of a score state is
    paid for on each of its writes."""

    def serialize(self, value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class DueIndex(GlobalSecondaryIndex["ScoreItem"]):  # type: ignore[no-untyped-call]
    """Score states by the day they next change (sparse: records with no such day are absent).
    Keys only: a state's write touches the index only when its day moves, and the sweep reads
    the states it names."""

    class Meta:
        index_name = "next_day"
        projection = KeysOnlyProjection()

    due_day = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class ScoreItem(_Keyed):
    """A record's score state. Kept small — a year of daily activity in under 1 KB — since
    each change writes it whole: the tally and the rules' points are binary."""

    class Meta:
        abstract = True

    score = NumberAttribute()
    status = UnicodeAttribute()
    color = UnicodeAttribute()
    groups = CompactJSONAttribute(default=dict)  # group name → points (JSON number)
    # each non-zero rule's points by its key's digest (domain/score_state.py, pack_rule_points)
    points = BinaryAttribute(null=True, legacy_encoding=False)
    rules = JSONAttribute(null=True)  # written before `points`: "group / rule" → points
    revision = NumberAttribute(default=0)  # the live revision the tallies belong to
    tallies = BinaryAttribute(null=True, legacy_encoding=False)
    due_day = UnicodeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)  # written before `next_day` indexed by `sk`
    changed_at = UTCDateTimeAttribute(null=True)
    change = CompactJSONAttribute(null=True)  # the last change: delta, status before, kind
    override = CompactJSONAttribute(null=True)  # a CSM's override (with its status's colour)
    computed = CompactJSONAttribute(null=True)  # {score, status} while an override is in effect
    stale = CompactJSONAttribute(null=True)  # inputs stale under the score's freshness rules
    updated_at = UTCDateTimeAttribute(null=True)  # written before states were kept small
    version = VersionAttribute()
    due = DueIndex()


class HistoryItem(_Keyed):
    class Meta:
        abstract = True

    entry = JSONAttribute()
    expires_at = TTLAttribute(null=True)


class OutputPropertyItem(_Keyed):
    class Meta:
        abstract = True

    entry = JSONAttribute()


class JobItem(_Keyed):
    class Meta:
        abstract = True

    kind = UnicodeAttribute()
    status = UnicodeAttribute()  # queued | running | succeeded | failed
    definition_id = UnicodeAttribute(null=True)
    detail = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class SnapshotItem(_Keyed):
    """One day's aggregates of a live score's portfolio for one segment (snapshots table)."""

    class Meta:
        abstract = True

    row = JSONAttribute()


class PlanGuardItem(_Keyed):
    """In the jobs table, one per account (`sk` PLAN_GUARD): its version moves on with every
    change that adds a draft or a live score, so two such changes that counted the same
    definitions cannot both land (the plan limits hold under concurrency)."""

    class Meta:
        abstract = True

    version = VersionAttribute()


class LiveMarkerItem(_Keyed):
    """In the jobs table, one per account (`sk` LIVE_MARKER): a number that moves on, in the
    same transaction, with every change to the account's health scores and segments. Scorers
    keep the parsed live scores and segments for as long as it stays where they read it, so a
    change reads this small item instead of every definition."""

    class Meta:
        abstract = True

    marker = NumberAttribute(default=0)


PLAN_GUARD = "#plan"
LIVE_MARKER = "#live"
M = TypeVar("M", bound=Model)

# Settings field → model: what template.yaml must declare (tests/integration/test_template.py).
MODELS: dict[str, type[Model]] = {
    "definitions_table": DefinitionItem,
    "segments_table": SegmentItem,
    "records_table": RecordItem,
    "events_table": EventItem,
    "scores_table": ScoreItem,
    "history_table": HistoryItem,
    "output_properties_table": OutputPropertyItem,
    "jobs_table": JobItem,
    "snapshots_table": SnapshotItem,
}


def _bind(model: type[M], table_name: str, settings: Settings) -> type[M]:
    meta: dict[str, Any] = {
        "table_name": table_name,
        "region": settings.region,
        "billing_mode": "PAY_PER_REQUEST",
    }
    if settings.dynamodb_endpoint:
        meta["host"] = settings.dynamodb_endpoint
    namespace: dict[str, Any] = {"Meta": type("Meta", (), meta)}
    if issubclass(model, ScoreItem):
        namespace["due"] = DueIndex()  # an index belongs to one bound model
    return type(model.__name__, (model,), namespace)


@dataclass(frozen=True)
class Tables:
    """The models bound to one deployment's tables."""

    definitions: type[DefinitionItem]
    segments: type[SegmentItem]
    records: type[RecordItem]
    associations: type[AssociationItem]
    events: type[EventItem]
    scores: type[ScoreItem]
    history: type[HistoryItem]
    output_properties: type[OutputPropertyItem]
    jobs: type[JobItem]
    plan_guards: type[PlanGuardItem]
    live_markers: type[LiveMarkerItem]
    snapshots: type[SnapshotItem]

    @classmethod
    def bind(cls, settings: Settings) -> Tables:
        return cls(
            definitions=_bind(DefinitionItem, settings.definitions_table, settings),
            segments=_bind(SegmentItem, settings.segments_table, settings),
            records=_bind(RecordItem, settings.records_table, settings),
            associations=_bind(AssociationItem, settings.records_table, settings),
            events=_bind(EventItem, settings.events_table, settings),
            scores=_bind(ScoreItem, settings.scores_table, settings),
            history=_bind(HistoryItem, settings.history_table, settings),
            output_properties=_bind(OutputPropertyItem, settings.output_properties_table, settings),
            jobs=_bind(JobItem, settings.jobs_table, settings),
            plan_guards=_bind(PlanGuardItem, settings.jobs_table, settings),
            live_markers=_bind(LiveMarkerItem, settings.jobs_table, settings),
            snapshots=_bind(SnapshotItem, settings.snapshots_table, settings),
        )

    def all(self) -> list[type[Model]]:
        """One model per table (links share the records table; plan guards and live markers
        the jobs table)."""
        return [
            self.definitions,
            self.segments,
            self.records,
            self.events,
            self.scores,
            self.history,
            self.output_properties,
            self.jobs,
            self.snapshots,
        ]

    def create_missing(self) -> list[str]:
        """Create the tables that do not exist yet (local stack and tests). Returns their names."""
        created = []
        for model in self.all():
            if not model.exists():
                model.create_table(wait=True)
                created.append(model.Meta.table_name)
        return created
