"""Use cases behind the API: segments, score definitions and their lifecycle, records, health
cards, history, previews and reports — for one caller, in the caller's account only.

Lifecycle of a score: created as a **draft** → **turned on** (the draft becomes the live
revision; its output properties are registered and an initial computation job starts) → edits
to a live score are saved as a **draft revision** while the live one keeps scoring →
**update** publishes the draft revision (and recomputes) → **turned off** (scores stop; the
definition is kept) → deleted. Every write carries the version the caller read (optimistic
locking): a stale version is a Conflict, never a silent overwrite.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from healthscore.adapters.dataset_files import (
    RowError,
    parse_association,
    parse_event,
    parse_record,
    parse_segment,
)
from healthscore.adapters.dynamo_store import DynamoStore, now
from healthscore.adapters.dynamo_tables import DefinitionItem
from healthscore.adapters.score_files import score_row
from healthscore.domain.access import Caller
from healthscore.domain.changes import (
    AssociationChanged,
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
)
from healthscore.domain.dataset import AssociationLine, Dataset, Record, RecordKey
from healthscore.domain.definition import (
    DefinitionError,
    ScoreDefinition,
    default_output_properties,
)
from healthscore.domain.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
)
from healthscore.domain.plans import (
    check_plan_allows,
)
from healthscore.domain.reference_engine import (
    RecordScore,
    check_segments,
    in_scope,
    score,
    score_record,
)
from healthscore.domain.templates import definition_from_templates
from healthscore.domain.validation import parse_definition
from healthscore.domain.values import points_json, utc_day
from healthscore.services.incremental import IncrementalScorer

JOB_RETENTION = timedelta(days=30)
Revision = Literal["draft", "live"]
T = TypeVar("T")


# A job runner: given (account, job id), computes the job's scores now or later (a queue).
JobStarter = Callable[[str, str], None]


class HealthScores:
    def __init__(
        self, store: DynamoStore, start_job: JobStarter, scorer: IncrementalScorer | None = None
    ) -> None:
        self.store = store
        self.start_job = start_job
        # records, links and events changed here are scored at once, as the scorer would
        self.scorer = scorer or IncrementalScorer(store)

    # -- segments ------------------------------------------------------------------------------

    def list_segments(self, caller: Caller) -> list[dict[str, Any]]:
        return [_segment_view(item) for item in self.store.segments(caller.account_id)]

    def get_segment(self, caller: Caller, segment_id: str) -> dict[str, Any]:
        return _segment_view(self._segment(caller, segment_id))

    def put_segment(
        self, caller: Caller, segment_id: str, body: dict[str, Any], version: int | None
    ) -> dict[str, Any]:
        caller.require_manage()
        raw = {**body, "id": segment_id}
        _parse(parse_segment, raw, "")
        item = self.store.segment(caller.account_id, segment_id)
        if item is None:
            if version not in (None, 0):
                raise Conflict(f"segment {segment_id!r} does not exist yet: send no version")
            item = self.store.new_segment(caller.account_id, segment_id, raw)
        else:
            _check_version(item.version, version, f"segment {segment_id!r}")
            item.body = raw
            item.updated_at = now()
        self.store.save(item)
        return _segment_view(item)

    def delete_segment(self, caller: Caller, segment_id: str) -> None:
        caller.require_manage()
        item = self._segment(caller, segment_id)
        users = [
            d.name
            for d in self.store.definitions(caller.account_id)
            if segment_id in _working(d).get("segments", [])
            or segment_id in (d.live or {}).get("segments", [])
        ]
        if users:
            raise Conflict(f"segment {segment_id!r} is used by {', '.join(sorted(users))}")
        self.store.delete(item)

    def _segment(self, caller: Caller, segment_id: str) -> Any:
        item = self.store.segment(caller.account_id, segment_id)
        if item is None:
            raise NotFound(f"no segment {segment_id!r}")
        return item

    # -- definitions ---------------------------------------------------------------------------

    def list_definitions(self, caller: Caller) -> list[dict[str, Any]]:
        items = sorted(self.store.definitions(caller.account_id), key=lambda d: d.created_at)
        return [_summary(item) for item in items]

    def get_definition(self, caller: Caller, definition_id: str) -> dict[str, Any]:
        item = self._definition(caller, definition_id)
        return {**_summary(item), "draft": item.draft, "live": item.live}

    def create_definition(self, caller: Caller, raw: Any) -> dict[str, Any]:
        caller.require_manage()
        if isinstance(raw, dict):
            raw = {k: v for k, v in raw.items() if k not in ("id", "state")}
        definition = parse_definition(raw)
        self._check_segments(caller, definition)
        self._check_plan(caller, adding="draft")
        assert definition.id is not None
        at = now()
        item = self.store.new_definition(
            caller.account_id,
            definition.id,
            name=definition.name,
            object_type=definition.object_type,
            state="draft",
            draft=_stored(definition),
            draft_revision=1,
            live=None,
            live_revision=0,
            created_at=at,
            updated_at=at,
            updated_by=caller.user_id,
        )
        self.store.save(item)
        return self.get_definition(caller, definition.id)

    def create_from_templates(
        self,
        caller: Caller,
        name: str,
        segments: list[str],
        templates: list[str] | None,
        object_type: str,
    ) -> dict[str, Any]:
        raw = definition_from_templates(name, segments, object_type, templates)
        return self.create_definition(caller, raw)

    def edit_definition(
        self, caller: Caller, definition_id: str, raw: Any, version: int | None
    ) -> dict[str, Any]:
        """Replace the working revision: the draft, or a new draft revision of a live score."""
        caller.require_manage()
        item = self._definition(caller, definition_id)
        _check_version(item.version, version, "this health score")
        if isinstance(raw, dict):
            raw = {**raw, "id": definition_id, "state": item.state}
        definition = parse_definition(raw)
        if definition.object_type != item.object_type:
            raise InvalidRequest(
                "object_type", f"cannot change from {item.object_type} once created"
            )
        self._check_segments(caller, definition)
        if item.state == "off" and item.draft is None:
            self._check_plan(caller, adding="draft")
        item.draft = _stored(definition)
        item.draft_revision = max(item.draft_revision, item.live_revision) + 1
        item.name = definition.name
        return self._saved(caller, item)

    def edit_working(
        self,
        caller: Caller,
        definition_id: str,
        version: int | None,
        change: Callable[[dict[str, Any]], None],
    ) -> dict[str, Any]:
        """Apply `change` to a copy of the working revision and save it as an edit."""
        item = self._definition(caller, definition_id)
        working = copy.deepcopy(_working(item))
        change(working)
        return self.edit_definition(caller, definition_id, working, version)

    def clone_group(
        self, caller: Caller, definition_id: str, group_id: str, version: int | None
    ) -> dict[str, Any]:
        def change(working: dict[str, Any]) -> None:
            index = _find(working["groups"], group_id, "group")
            group = copy.deepcopy(working["groups"][index])
            group.pop("id", None)
            group["name"] = f"{group['name']} (copy)"
            for rule in group.get("rules", []):
                rule.pop("id", None)
            working["groups"].insert(index + 1, group)

        return self.edit_working(caller, definition_id, version, change)

    def delete_group(
        self, caller: Caller, definition_id: str, group_id: str, version: int | None
    ) -> dict[str, Any]:
        def change(working: dict[str, Any]) -> None:
            del working["groups"][_find(working["groups"], group_id, "group")]

        return self.edit_working(caller, definition_id, version, change)

    def clone_rule(
        self, caller: Caller, definition_id: str, rule_id: str, version: int | None
    ) -> dict[str, Any]:
        def change(working: dict[str, Any]) -> None:
            group, index = _find_rule(working, rule_id)
            rule = copy.deepcopy(group["rules"][index])
            rule.pop("id", None)
            group["rules"].insert(index + 1, rule)

        return self.edit_working(caller, definition_id, version, change)

    def delete_rule(
        self, caller: Caller, definition_id: str, rule_id: str, version: int | None
    ) -> dict[str, Any]:
        def change(working: dict[str, Any]) -> None:
            group, index = _find_rule(working, rule_id)
            del group["rules"][index]

        return self.edit_working(caller, definition_id, version, change)

    def turn_on(
        self, caller: Caller, definition_id: str, version: int | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Draft (or off) → live; registers the output properties and starts the computation."""
        caller.require_manage()
        item = self._definition(caller, definition_id)
        _check_version(item.version, version, "this health score")
        if item.state == "live":
            raise Conflict("this health score is already on; publish edits with update")
        raw = item.draft if item.draft is not None else item.live
        if raw is None:
            raise Conflict("this health score has no revision to turn on")
        definition = parse_definition(raw)
        self._check_segments(caller, definition)
        self._check_plan(caller, adding="live")
        self._check_output_properties(caller, definition)
        if item.draft is not None:
            item.live, item.live_revision = item.draft, item.draft_revision
            item.draft = None
        item.live = {**(item.live or {}), "state": "live"}
        item.state = "live"
        return self._go_live(caller, item, definition, "turn_on")

    def publish(
        self, caller: Caller, definition_id: str, version: int | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A live score's draft revision becomes the live one; scores are recomputed."""
        caller.require_manage()
        item = self._definition(caller, definition_id)
        _check_version(item.version, version, "this health score")
        if item.state != "live":
            raise Conflict("only a live health score can be updated; turn it on instead")
        if item.draft is None:
            raise Conflict("there is no draft revision to publish")
        definition = parse_definition(item.draft)
        self._check_segments(caller, definition)
        self._check_output_properties(caller, definition)
        self.store.unregister_output_properties(caller.account_id, definition_id)
        item.live = {**item.draft, "state": "live"}
        item.live_revision = item.draft_revision
        item.draft = None
        return self._go_live(caller, item, definition, "update")

    def _go_live(
        self, caller: Caller, item: DefinitionItem, definition: ScoreDefinition, kind: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Save the new live revision, register its output properties, start its computation."""
        job = self._new_job(caller, kind, item.sk)
        item.last_job = job["id"]
        definition_view = self._saved(caller, item)
        for entry in _output_property_entries(definition, item.sk):
            self.store.register_output_property(caller.account_id, entry)
        self.start_job(caller.account_id, job["id"])
        return definition_view, job

    def turn_off(self, caller: Caller, definition_id: str, version: int | None) -> dict[str, Any]:
        caller.require_manage()
        item = self._definition(caller, definition_id)
        _check_version(item.version, version, "this health score")
        if item.state != "live":
            raise Conflict("this health score is not on")
        item.state = "off"
        if item.live is not None:
            item.live = {**item.live, "state": "off"}
        return self._saved(caller, item)

    def delete_definition(self, caller: Caller, definition_id: str, version: int | None) -> None:
        caller.require_manage()
        item = self._definition(caller, definition_id)
        _check_version(item.version, version, "this health score")
        if item.state == "live":
            raise Conflict("turn this health score off before deleting it")
        self.store.delete(item)
        self.store.unregister_output_properties(caller.account_id, definition_id)
        self.store.delete_scores(caller.account_id, definition_id)

    def revision(self, caller: Caller, definition_id: str, which: Revision) -> ScoreDefinition:
        item = self._definition(caller, definition_id)
        raw = item.draft if which == "draft" else item.live
        if raw is None and which == "draft":
            raw = item.live  # a live score with no pending edits: its draft is the live one
        if raw is None:
            raise NotFound(f"this health score has no {which} revision")
        return parse_definition(raw)

    # -- jobs ----------------------------------------------------------------------------------

    def get_job(self, caller: Caller, job_id: str) -> dict[str, Any]:
        item = self.store.job(caller.account_id, job_id)
        if item is None:
            raise NotFound(f"no job {job_id!r}")
        return _job_view(item)

    def _new_job(self, caller: Caller, kind: str, definition_id: str) -> dict[str, Any]:
        at = now()
        item = self.store.new_job(
            caller.account_id,
            f"job_{uuid.uuid4().hex[:16]}",
            kind=kind,
            status="queued",
            definition_id=definition_id,
            detail={},
            created_at=at,
            updated_at=at,
            expires_at=JOB_RETENTION,
        )
        item.save()
        return _job_view(item)

    # -- records -------------------------------------------------------------------------------

    def put_record(self, caller: Caller, object_type: str, record_id: str, body: Any) -> Record:
        caller.require_manage()
        raw = {
            **(body if isinstance(body, dict) else {}),
            "object_type": object_type,
            "id": record_id,
        }
        record = _parse(parse_record, raw, "")
        at_ms = int(now().timestamp() * 1000)
        self.scorer.apply(
            caller.account_id,
            PropertiesChanged(
                object_type,
                record_id,
                dict(record.properties),
                at_ms,
                lists=record.lists,
                replace=True,
                created=True,
            ),
        )
        return record

    def get_record(self, caller: Caller, key: RecordKey) -> dict[str, Any]:
        record = self.store.record(caller.account_id, key)
        if record is None:
            raise NotFound(f"no {key[0]} record {key[1]!r}")
        links = self.store.associations_of(caller.account_id, key)
        return {
            **_record_view(record),
            "associations": [
                {"object_type": line.to_type, "id": line.to_id, "labels": list(line.labels)}
                for line in links
            ],
        }

    def delete_record(self, caller: Caller, key: RecordKey) -> None:
        caller.require_manage()
        if self.store.record(caller.account_id, key) is None:
            raise NotFound(f"no {key[0]} record {key[1]!r}")
        self.scorer.apply(caller.account_id, RecordDeleted(*key))

    def put_association(self, caller: Caller, body: Any) -> AssociationLine:
        caller.require_manage()
        line = _parse(parse_association, body, "")
        self.scorer.apply(caller.account_id, AssociationChanged(line))
        return line

    def delete_association(self, caller: Caller, body: Any) -> None:
        caller.require_manage()
        line = _parse(parse_association, body, "")
        if self.store.association_labels(caller.account_id, line) is None:
            raise NotFound("no such association")
        self.scorer.apply(caller.account_id, AssociationChanged(line, removed=True))

    def put_events(self, caller: Caller, body: Any) -> dict[str, int]:
        """Store native events and score them (idempotent per owner and id: a duplicate is
        counted, not applied). Senders with volume use the signed webhook instead."""
        caller.require_manage()
        if not isinstance(body, list):
            raise InvalidRequest("body", "must be a JSON array of events")
        events = [_parse(parse_event, raw, f"[{i}].") for i, raw in enumerate(body)]
        stored = sum(
            not self.scorer.apply(caller.account_id, EventArrived(event)).duplicate
            for event in events
        )
        return {"received": len(events), "stored": stored, "duplicates": len(events) - stored}

    # -- scoring views -------------------------------------------------------------------------

    def test_record(
        self,
        caller: Caller,
        definition_id: str,
        which: Revision,
        record_id: str,
        as_of: datetime,
    ) -> dict[str, Any]:
        """A record's score and breakdown under a revision; nothing is written."""
        definition = self.revision(caller, definition_id, which)
        key = (definition.object_type, record_id)
        dataset = self.store.neighbourhood(
            caller.account_id, key, contacts_events=definition.object_type == "companies"
        )
        _raise_segment_issues(definition, dataset)
        if not dataset.has_record(key):
            raise NotFound(f"no {definition.object_type} record {record_id!r}")
        record = dataset.record(key)
        today = utc_day(as_of)
        segments = [dataset.segments[s] for s in definition.segments]
        if not in_scope(record, segments, today):
            return {"id": record_id, "in_scope": False, "segments": definition.segments}
        result = score_record(definition, dataset, record, today, segments)
        return {"in_scope": True, **breakdown(result)}

    def scored(
        self, caller: Caller, definition: ScoreDefinition, as_of: datetime
    ) -> list[RecordScore]:
        dataset = self.store.dataset(caller.account_id)
        _raise_segment_issues(definition, dataset)
        return score(definition, dataset, as_of)

    def preview(
        self, caller: Caller, definition_id: str, which: Revision, as_of: datetime
    ) -> dict[str, Any]:
        definition = self.revision(caller, definition_id, which)
        return distribution(definition, self.scored(caller, definition, as_of))

    def what_if(
        self, caller: Caller, definition_id: str, as_of: datetime, limit: int
    ) -> dict[str, Any]:
        live = self.revision(caller, definition_id, "live")
        draft = self.revision(caller, definition_id, "draft")
        dataset = self.store.dataset(caller.account_id)
        _raise_segment_issues(live, dataset)
        _raise_segment_issues(draft, dataset)
        before = {r.id: r for r in score(live, dataset, as_of)}
        after = {r.id: r for r in score(draft, dataset, as_of)}
        both = sorted(before.keys() & after.keys())
        moved: list[dict[str, Any]] = [
            {
                "id": rid,
                "live_score": before[rid].score,
                "draft_score": after[rid].score,
                "delta": after[rid].score - before[rid].score,
                "live_status": before[rid].status,
                "draft_status": after[rid].status,
            }
            for rid in both
            if before[rid].score != after[rid].score or before[rid].status != after[rid].status
        ]
        transitions = Counter(
            (m["live_status"], m["draft_status"])
            for m in moved
            if m["live_status"] != m["draft_status"]
        )
        return {
            "compared": len(both),
            "changed_status": sum(transitions.values()),
            "changed_score": sum(1 for m in moved if m["delta"] != 0),
            "only_live": len(before.keys() - after.keys()),
            "only_draft": len(after.keys() - before.keys()),
            "transitions": [
                {"from": a, "to": b, "count": n} for (a, b), n in sorted(transitions.items())
            ],
            "movers": sorted(moved, key=lambda m: (-abs(m["delta"]), m["id"]))[:limit],
        }

    def report(
        self, caller: Caller, definition_id: str, by: str, as_of: datetime
    ) -> dict[str, Any]:
        definition = self.revision(caller, definition_id, "live")
        dataset = self.store.dataset(caller.account_id)
        _raise_segment_issues(definition, dataset)
        results = score(definition, dataset, as_of)
        today = utc_day(as_of)
        groups: dict[str, list[RecordScore]] = {}
        if by == "segment":
            for segment in dataset.segments.values():
                if segment.object_type != definition.object_type:
                    continue
                members = [
                    r
                    for r in results
                    if segment.matches(dataset.record((r.object_type, r.id)), today)
                ]
                groups[segment.name] = members
        else:
            known = {
                name
                for record in dataset.records_of(definition.object_type)
                for name in record.properties
            }
            if by not in known:
                raise InvalidRequest(
                    "by",
                    f"no {definition.object_type} property {by!r}; known: "
                    + (", ".join(sorted(known)) or "none"),
                )
            for r in results:
                value = dataset.record((r.object_type, r.id)).properties.get(by)
                groups.setdefault("(none)" if value in (None, "") else str(value), []).append(r)
        thresholds = list(reversed(definition.thresholds))
        rows = []
        for name in sorted(groups):
            members = groups[name]
            counts = Counter(r.status for r in members)
            rows.append(
                {
                    by: name,
                    "records": len(members),
                    "average": round(sum(r.score for r in members) / len(members), 1)
                    if members
                    else None,
                    "median": _median([r.score for r in members]),
                    "statuses": {t.label: counts.get(t.label, 0) for t in thresholds},
                }
            )
        return {"by": by, "rows": rows}

    def scores(
        self, caller: Caller, definition_id: str, status: str | None, limit: int
    ) -> dict[str, Any]:
        """Counts of stored scores by status, and the `limit` lowest (of `status`, if given) as
        health cards — the accounts a CSM should look at first. Reads every state of the score:
        meant for a portfolio, not for a page per request at scale."""
        item = self._definition(caller, definition_id)
        raw = item.live or item.draft
        labels = [t["label"] for t in (raw or {}).get("thresholds", [])]
        if status is not None and status not in labels:
            raise InvalidRequest("status", f"must be one of {', '.join(labels)}")
        counts: Counter[str] = Counter()
        lowest: list[Any] = []
        for state in self.store.scores(caller.account_id, definition_id):
            counts[state.status] += 1
            if status is None or state.status == status:
                lowest.append(state)
        lowest.sort(key=lambda s: (int(s.score), s.sk))
        cards = [_card(*self.store.state_owner(s)[2], s) for s in lowest[:limit]]
        return {
            "total": sum(counts.values()),
            "counts": {label: counts.get(label, 0) for label in reversed(labels)},
            "lowest": cards,
        }

    def health_card(self, caller: Caller, definition_id: str, key: RecordKey) -> dict[str, Any]:
        self._definition(caller, definition_id)
        item = self.store.score(caller.account_id, definition_id, key)
        if item is None:
            raise NotFound(f"{key[0]} {key[1]!r} has no score from this health score yet")
        return _card(key[0], key[1], item)

    def history(
        self,
        caller: Caller,
        definition_id: str,
        key: RecordKey,
        limit: int,
        cursor: str | None,
    ) -> dict[str, Any]:
        self._definition(caller, definition_id)
        entries, next_cursor = self.store.history(
            caller.account_id, definition_id, key, limit, cursor
        )
        return {"entries": entries, "next_cursor": next_cursor}

    # -- helpers -------------------------------------------------------------------------------

    def _definition(self, caller: Caller, definition_id: str) -> DefinitionItem:
        item = self.store.definition(caller.account_id, definition_id)
        if item is None:
            raise NotFound(f"no health score {definition_id!r}")
        return item

    def _saved(self, caller: Caller, item: DefinitionItem) -> dict[str, Any]:
        item.updated_at = now()
        item.updated_by = caller.user_id
        self.store.save(item)
        return {**_summary(item), "draft": item.draft, "live": item.live}

    def _check_segments(self, caller: Caller, definition: ScoreDefinition) -> None:
        segments = {
            item.sk: _parse(parse_segment, item.body, "")
            for item in self.store.segments(caller.account_id)
        }
        issues = check_segments(definition, segments)
        if issues:
            raise DefinitionError(issues)

    def _check_plan(self, caller: Caller, adding: Literal["live", "draft"]) -> None:
        items = self.store.definitions(caller.account_id)
        live = sum(1 for d in items if d.state == "live")
        drafts = sum(1 for d in items if d.state != "live")
        if adding == "live":
            drafts -= 1  # the score being turned on stops being a draft
        check_plan_allows(caller.plan, live=live, drafts=drafts, adding=adding)

    def _check_output_properties(self, caller: Caller, definition: ScoreDefinition) -> None:
        assert definition.id is not None
        for index, entry in enumerate(_output_property_entries(definition, definition.id)):
            existing = self.store.output_property(caller.account_id, entry["name"])
            if existing is not None and existing.get("definition_id") != definition.id:
                field = ("score", "status")[index]
                raise InvalidRequest(
                    f"properties.{field}.name",
                    f"{entry['name']!r} is already the output of another health score",
                )


# ---------------------------------------------------------------------------------------------
# Views and small pure helpers


def breakdown(result: RecordScore) -> dict[str, Any]:
    """A record's score as JSON: groups and rules with what each earned and why."""
    return {
        **score_row(result),
        "next_change_day": result.next_change_day.isoformat() if result.next_change_day else None,
        "groups": [
            {
                "name": group.name,
                "points": points_json(group.hundredths),
                "max_points": group.max_points,
                "cap_applied": group.cap_applied,
                "rules": [
                    {
                        "id": rule.rule_id,
                        "description": rule.description,
                        "points": points_json(rule.hundredths),
                        "matched": rule.matched,
                        "limit_applied": rule.limit_applied,
                        "frequency_met": rule.frequency_met,
                        "events": [e.event_id for e in rule.events],
                        "records": [f"{m.object_type}/{m.record_id}" for m in rule.records],
                    }
                    for rule in group.rules
                ],
            }
            for group in result.groups
        ],
    }


def distribution(definition: ScoreDefinition, results: list[RecordScore]) -> dict[str, Any]:
    """Counts per 5-point bin and per status (threshold order, best first)."""
    bins = Counter(min(r.score // 5, 19) for r in results)
    statuses = Counter(r.status for r in results)
    return {
        "scored": len(results),
        "average": round(sum(r.score for r in results) / len(results), 1) if results else None,
        "median": _median([r.score for r in results]),
        "bins": [
            {"from": 5 * b, "to": 5 * b + 4 if b < 19 else 100, "count": bins.get(b, 0)}
            for b in range(20)
        ],
        "statuses": [
            {"status": t.label, "color": t.color, "min": t.min, "count": statuses.get(t.label, 0)}
            for t in reversed(definition.thresholds)
        ],
    }


def _median(values: list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def _card(object_type: str, record_id: str, item: Any) -> dict[str, Any]:
    """A record's health card from its score state."""
    change = item.change or {}
    delta = int(change.get("delta", 0))
    return {
        "object_type": object_type,
        "id": record_id,
        "score": int(item.score),
        "status": item.status,
        "color": item.color,
        "groups": item.groups,
        "next_change_day": item.due_day,
        "last_change": {
            "amount": abs(delta),
            "direction": _direction(delta),
            "at": item.changed_at.isoformat() if item.changed_at else None,
            "status_before": change.get("status_before"),
            "why": change.get("cause"),
        }
        if change
        else None,
    }


def _direction(delta: int) -> str:
    return "up" if delta > 0 else "down" if delta < 0 else "none"


def _stored(definition: ScoreDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude_none=True)


def _working(item: DefinitionItem) -> dict[str, Any]:
    return dict(item.draft if item.draft is not None else item.live or {})


def _summary(item: DefinitionItem) -> dict[str, Any]:
    return {
        "id": item.sk,
        "name": item.name,
        "object_type": item.object_type,
        "state": item.state,
        "live_revision": item.live_revision or None,
        "draft_revision": item.draft_revision if item.draft is not None else None,
        "has_unpublished_edits": item.state == "live" and item.draft is not None,
        "version": item.version,
        "updated_at": item.updated_at.isoformat(),
        "updated_by": item.updated_by,
        "last_job": item.last_job,
    }


def _segment_view(item: Any) -> dict[str, Any]:
    return {**item.body, "version": item.version, "updated_at": item.updated_at.isoformat()}


def _record_view(record: Record) -> dict[str, Any]:
    return {
        "object_type": record.object_type,
        "id": record.id,
        "properties": dict(record.properties),
        "lists": sorted(record.lists),
    }


def _job_view(item: Any) -> dict[str, Any]:
    return {
        "id": item.sk,
        "kind": item.kind,
        "status": item.status,
        "definition_id": item.definition_id,
        "detail": item.detail,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


def _output_property_entries(
    definition: ScoreDefinition, definition_id: str
) -> list[dict[str, Any]]:
    properties = definition.properties or default_output_properties(definition.name)
    return [
        {
            "name": prop.name,
            "label": prop.label,
            "description": prop.description
            or f"{kind.capitalize()} from the health score {definition.name!r}",
            "group": "Customer health",
            "kind": kind,
            "object_type": definition.object_type,
            "definition_id": definition_id,
            **(
                {"options": [t.label for t in reversed(definition.thresholds)]}
                if kind == "status"
                else {}
            ),
        }
        for kind, prop in (("score", properties.score), ("status", properties.status))
    ]


def _check_version(current: int | None, sent: int | None, what: str) -> None:
    if sent is None:
        raise InvalidRequest(
            "version", f"is required: send the version of {what} you read (If-Match or ?version=)"
        )
    if sent != current:
        raise Conflict(
            f"{what} is at version {current}, not {sent}: someone changed it; read it again"
        )


def _find(items: list[dict[str, Any]], item_id: str, what: str) -> int:
    for index, item in enumerate(items):
        if item.get("id") == item_id:
            return index
    raise NotFound(f"no {what} {item_id!r} in this health score")


def _find_rule(working: dict[str, Any], rule_id: str) -> tuple[dict[str, Any], int]:
    for group in working.get("groups", []):
        for index, rule in enumerate(group.get("rules", [])):
            if rule.get("id") == rule_id:
                return group, index
    raise NotFound(f"no rule {rule_id!r} in this health score")


def _raise_segment_issues(definition: ScoreDefinition, dataset: Dataset) -> None:
    issues = check_segments(definition, dataset.segments)
    if issues:
        raise DefinitionError(issues)


def _parse(parse: Callable[[Any], T], raw: Any, prefix: str) -> T:
    try:
        return parse(raw)
    except RowError as error:
        raise InvalidRequest(prefix + error.field, error.message) from error
