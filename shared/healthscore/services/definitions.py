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
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from healthscore.adapters.dataset_files import parse_segment
from healthscore.domain.access import Caller
from healthscore.domain.definition import (
    DefinitionError,
    ScoreDefinition,
)
from healthscore.domain.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
)
from healthscore.domain.lifecycle import Job, StoredDefinition
from healthscore.domain.plans import check_plan_allows
from healthscore.domain.reference_engine import check_segments
from healthscore.domain.templates import definition_from_templates
from healthscore.domain.validation import parse_definition
from healthscore.ports import HealthScoreStore
from healthscore.services.dependencies import refuse_cycles
from healthscore.services.views import (
    check_version,
    definition_summary,
    find_index,
    find_rule,
    job_view,
    output_property_entries,
    parse_request,
    stored_json,
    working_revision,
)

Revision = Literal["draft", "live"]

# A job runner: given (account, job id), computes the job's scores now or later (a queue).
JobStarter = Callable[[str, str], None]


class Definitions:
    """Score definitions and their lifecycle, for one caller at a time."""

    def __init__(self, store: HealthScoreStore, start_job: JobStarter) -> None:
        self.store = store
        self.start_job = start_job

    def list_definitions(self, caller: Caller) -> list[dict[str, Any]]:
        items = sorted(self.store.definitions(caller.account_id), key=lambda d: d.created_at)
        return [definition_summary(item) for item in items]

    def get_definition(self, caller: Caller, definition_id: str) -> dict[str, Any]:
        item = self.item(caller, definition_id)
        return {**definition_summary(item), "draft": item.draft, "live": item.live}

    def create_definition(self, caller: Caller, raw: Any) -> dict[str, Any]:
        caller.require_manage()
        if isinstance(raw, dict):
            raw = {k: v for k, v in raw.items() if k not in ("id", "state")}
        definition = parse_definition(raw)
        self._check_segments(caller, definition)
        guard = self._check_plan(caller, adding="draft")
        assert definition.id is not None
        at = datetime.now(UTC)
        item = StoredDefinition(
            definition.id,
            definition.name,
            definition.object_type,
            "draft",
            created_at=at,
            updated_at=at,
            updated_by=caller.user_id,
            draft=stored_json(definition),
            draft_revision=1,
        )
        check_stored_size(item)
        self.store.save_definition_guarded(caller.account_id, item, guard)
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
        item = self.item(caller, definition_id)
        check_version(item.version, version, "this health score")
        if isinstance(raw, dict):
            raw = {**raw, "id": definition_id, "state": item.state}
        definition = parse_definition(raw)
        if definition.object_type != item.object_type:
            raise InvalidRequest(
                "object_type", f"cannot change from {item.object_type} once created"
            )
        self._check_segments(caller, definition)
        guard = None
        if item.state == "off" and item.draft is None:
            guard = self._check_plan(caller, adding="draft")
        item.draft = stored_json(definition)
        item.draft_revision = max(item.draft_revision, item.live_revision) + 1
        item.name = definition.name
        return self._saved(caller, item, guard)

    def edit_working(
        self,
        caller: Caller,
        definition_id: str,
        version: int | None,
        change: Callable[[dict[str, Any]], None],
    ) -> dict[str, Any]:
        """Apply `change` to a copy of the working revision and save it as an edit."""
        item = self.item(caller, definition_id)
        working = copy.deepcopy(working_revision(item))
        change(working)
        return self.edit_definition(caller, definition_id, working, version)

    def clone_group(
        self, caller: Caller, definition_id: str, group_id: str, version: int | None
    ) -> dict[str, Any]:
        def change(working: dict[str, Any]) -> None:
            index = find_index(working["groups"], group_id, "group")
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
            del working["groups"][find_index(working["groups"], group_id, "group")]

        return self.edit_working(caller, definition_id, version, change)

    def clone_rule(
        self, caller: Caller, definition_id: str, rule_id: str, version: int | None
    ) -> dict[str, Any]:
        def change(working: dict[str, Any]) -> None:
            group, index = find_rule(working, rule_id)
            rule = copy.deepcopy(group["rules"][index])
            rule.pop("id", None)
            group["rules"].insert(index + 1, rule)

        return self.edit_working(caller, definition_id, version, change)

    def delete_rule(
        self, caller: Caller, definition_id: str, rule_id: str, version: int | None
    ) -> dict[str, Any]:
        def change(working: dict[str, Any]) -> None:
            group, index = find_rule(working, rule_id)
            del group["rules"][index]

        return self.edit_working(caller, definition_id, version, change)

    def turn_on(
        self, caller: Caller, definition_id: str, version: int | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Draft (or off) → live; registers the output properties and starts the computation."""
        caller.require_manage()
        item = self.item(caller, definition_id)
        check_version(item.version, version, "this health score")
        if item.state == "live":
            raise Conflict("this health score is already on; publish edits with update")
        raw = item.draft if item.draft is not None else item.live
        if raw is None:
            raise Conflict("this health score has no revision to turn on")
        definition = parse_definition(raw)
        self._check_segments(caller, definition)
        guard = self._check_plan(caller, adding="live")
        self._check_output_properties(caller, definition)
        if item.draft is not None:
            item.live, item.live_revision = item.draft, item.draft_revision
            item.draft = None
        item.live = {**(item.live or {}), "state": "live"}
        item.state = "live"
        return self._go_live(caller, item, definition, "turn_on", guard)

    def publish(
        self, caller: Caller, definition_id: str, version: int | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A live score's draft revision becomes the live one; scores are recomputed."""
        caller.require_manage()
        item = self.item(caller, definition_id)
        check_version(item.version, version, "this health score")
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
        self,
        caller: Caller,
        item: StoredDefinition,
        definition: ScoreDefinition,
        kind: str,
        guard: int | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Save the new live revision, register its output properties, start its computation."""
        at = datetime.now(UTC)
        job = Job(f"job_{uuid.uuid4().hex[:16]}", kind, "queued", at, at, item.id, {})
        item.last_job = job.id
        definition_view = self._saved(caller, item, guard)  # a lost race leaves no job behind
        self.store.save_job(caller.account_id, job)
        for entry in output_property_entries(definition, item.id):
            self.store.register_output_property(caller.account_id, entry)
        self.start_job(caller.account_id, job.id)
        return definition_view, job_view(job)

    def turn_off(self, caller: Caller, definition_id: str, version: int | None) -> dict[str, Any]:
        caller.require_manage()
        item = self.item(caller, definition_id)
        check_version(item.version, version, "this health score")
        if item.state != "live":
            raise Conflict("this health score is not on")
        item.state = "off"
        if item.live is not None:
            item.live = {**item.live, "state": "off"}
        return self._saved(caller, item)

    def delete_definition(self, caller: Caller, definition_id: str, version: int | None) -> None:
        caller.require_manage()
        item = self.item(caller, definition_id)
        check_version(item.version, version, "this health score")
        if item.state == "live":
            raise Conflict("turn this health score off before deleting it")
        self.store.delete_definition(caller.account_id, item)
        self.store.unregister_output_properties(caller.account_id, definition_id)
        self.store.delete_scores(caller.account_id, definition_id)

    def revision(self, caller: Caller, definition_id: str, which: Revision) -> ScoreDefinition:
        item = self.item(caller, definition_id)
        raw = item.draft if which == "draft" else item.live
        if raw is None and which == "draft":
            raw = item.live  # a live score with no pending edits: its draft is the live one
        if raw is None:
            raise NotFound(f"this health score has no {which} revision")
        return parse_definition(raw)

    def output_properties(self, caller: Caller) -> list[dict[str, Any]]:
        """The properties the account's scores write (score and status per definition)."""
        return self.store.output_properties(caller.account_id)

    def get_job(self, caller: Caller, job_id: str) -> dict[str, Any]:
        item = self.store.job(caller.account_id, job_id)
        if item is None:
            raise NotFound(f"no job {job_id!r}")
        return job_view(item)

    def item(self, caller: Caller, definition_id: str) -> StoredDefinition:
        item = self.store.definition(caller.account_id, definition_id)
        if item is None:
            raise NotFound(f"no health score {definition_id!r}")
        return item

    def _saved(
        self, caller: Caller, item: StoredDefinition, guard: int | None = None
    ) -> dict[str, Any]:
        """Save it; with `guard` (a plan check's), only if no other change to the account's
        plan usage landed since the check."""
        item.updated_at = datetime.now(UTC)
        item.updated_by = caller.user_id
        check_stored_size(item)
        if guard is None:
            self.store.save_definition(caller.account_id, item)
        else:
            self.store.save_definition_guarded(caller.account_id, item, guard)
        return {**definition_summary(item), "draft": item.draft, "live": item.live}

    def _check_segments(self, caller: Caller, definition: ScoreDefinition) -> None:
        segments = {
            item.id: parse_request(parse_segment, item.body, "")
            for item in self.store.stored_segments(caller.account_id)
        }
        issues = check_segments(definition, segments)
        if issues:
            raise DefinitionError(issues)
        refuse_cycles(self.store, caller.account_id, definition)

    def _check_plan(self, caller: Caller, adding: Literal["live", "draft"]) -> int:
        """Whether the plan allows one more; the guard to save with (read before counting)."""
        guard = self.store.plan_guard(caller.account_id)
        items = self.store.definitions(caller.account_id)
        live = sum(1 for d in items if d.state == "live")
        drafts = sum(1 for d in items if d.state != "live")
        if adding == "live":
            drafts -= 1  # the score being turned on stops being a draft
        check_plan_allows(caller.plan, live=live, drafts=drafts, adding=adding)
        return guard

    def _check_output_properties(self, caller: Caller, definition: ScoreDefinition) -> None:
        assert definition.id is not None
        for index, entry in enumerate(output_property_entries(definition, definition.id)):
            existing = self.store.output_property(caller.account_id, entry["name"])
            if existing is not None and existing.get("definition_id") != definition.id:
                field = ("score", "status")[index]
                raise InvalidRequest(
                    f"properties.{field}.name",
                    f"{entry['name']!r} is already the output of another health score",
                )


# A definition's draft and live revisions share one stored item (DynamoDB: at most 400 KB).
MAX_STORED_BYTES = 300_000


def check_stored_size(item: StoredDefinition) -> None:
    size = sum(len(json.dumps(r, separators=(",", ":"))) for r in (item.draft, item.live) if r)
    if size > MAX_STORED_BYTES:
        raise InvalidRequest(
            "groups",
            f"this health score would take {size:,} bytes with its revisions; at most "
            f"{MAX_STORED_BYTES:,}: remove groups, rules or values",
        )
