"""A record's score state, what it is set to, the history entry a change leaves and the status
change it can announce: one shape for every path that writes scores (incremental scorer, sweep,
recompute), so a history reads the same whatever moved the score.

A history entry: `{at, before, after, delta, status_before, status_after, cause}`; the cause has a
`kind` (event, property, association, deletion, merge, time, recompute), a one-line `summary` a
customer-success manager can read, and the details (event ids, property names, the rules whose
points moved and by how much).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from healthscore.domain.dataset import RecordKey
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.overrides import Override, next_day
from healthscore.domain.tally_scores import TallyScore
from healthscore.domain.values import points_json


@dataclass(frozen=True, slots=True)
class NewScore:
    """What a state is set to: from a tally or from the batch engine."""

    score: int
    status: str
    color: str
    groups: dict[str, int | float]  # group name → points
    rules: dict[str, int | float]  # "group / rule" → points
    next_change_day: date | None
    stale: tuple[str, ...] = ()  # the inputs stale that day (freshness rules)

    @classmethod
    def from_tally(cls, definition: ScoreDefinition, result: TallyScore) -> NewScore:
        rules: dict[str, int | float] = {}
        for group, total in zip(definition.groups, result.groups, strict=True):
            for rule, rule_total in zip(group.rules, total.rules, strict=True):
                rules[rule_name(group.name, rule.id, rule.summary())] = points_json(
                    rule_total.hundredths
                )
        return cls(
            result.score,
            result.status,
            result.color,
            {g.name: points_json(g.hundredths) for g in result.groups},
            rules,
            result.next_change_day,
            result.stale,
        )


def rule_name(group: str, rule_id: str | None, summary: str) -> str:
    """A rule's key in a state's points: stable across edits of its wording."""
    return f"{group} / {rule_id or summary}"


def readable_rules(definition: ScoreDefinition) -> dict[str, str]:
    """Each rule's key → how history names it: "Group / its description (or summary)"."""
    return {
        rule_name(group.name, rule.id, rule.summary()): (
            f"{group.name} / {rule.description or rule.summary()}"
        )
        for group in definition.groups
        for rule in group.rules
    }


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The detail of EventBridge's `Health status changed` event."""

    account_id: str
    definition_id: str
    object_type: str
    record_id: str
    score_before: int | None
    score_after: int | None
    status_before: str | None
    status_after: str | None
    at: str
    cause: dict[str, Any]
    id: str = ""  # the history entry's key: the same change delivered twice has the same id

    def detail(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class InputStale:
    """The detail of EventBridge's `Health input stale` event: one per property per
    staleness (the history entry in which it went stale)."""

    account_id: str
    definition_id: str
    object_type: str
    record_id: str
    property: str
    score: int | None
    status: str | None
    at: str
    id: str = ""

    def detail(self) -> dict[str, Any]:
        return asdict(self)


def inputs_gone_stale(
    account: str, definition_id: str, key: RecordKey, entry: dict[str, Any], entry_id: str
) -> list[InputStale]:
    return [
        InputStale(
            account,
            definition_id,
            key[0],
            key[1],
            name,
            entry.get("after"),
            entry.get("status_after"),
            entry["at"],
            f"{entry_id}/{name}",
        )
        for name in entry.get("newly_stale") or ()
    ]


@dataclass(slots=True)
class ScoreState:
    """A record's stored score under one health score: what its health card shows, the tally
    (encoded) it is a pure function of, and the day it next changes with no new input.
    `version` is the stored version (None: not stored yet); writes are conditional on it."""

    definition_id: str
    key: RecordKey
    score: int = 0
    status: str | None = None
    color: str | None = None
    groups: dict[str, int | float] = field(default_factory=dict)
    rules: dict[str, int | float] = field(default_factory=dict)
    revision: int = 0  # the live revision the tallies belong to
    tallies: bytes | None = None
    due_day: date | None = None
    changed_at: datetime | None = None
    change: dict[str, Any] | None = None  # the last change: delta, status before, cause
    updated_at: datetime | None = None
    version: int | None = None
    # an override (`Override.to_json()` and the colour of its status): while it is in effect,
    # score/status/color are its effective ones and the computed ones are kept here
    override: dict[str, Any] | None = None
    computed_score: int | None = None
    computed_status: str | None = None
    stale: list[str] = field(default_factory=list)  # inputs stale (freshness rules)

    @property
    def stored(self) -> bool:
        return self.status is not None and self.version is not None

    @property
    def computed(self) -> tuple[int, str | None]:
        """The computed score and status, whether or not an override is in effect."""
        if self.computed_score is not None:
            return self.computed_score, self.computed_status
        return self.score, self.status

    def current_override(self) -> Override | None:
        return None if self.override is None else Override.from_json(self.override)


REMOVED_RULE = "a rule no longer in this score"


def moved_rules(before: ScoreState | None, new: NewScore) -> list[dict[str, Any]]:
    """The rules whose points changed, with before and after. A stored state keeps its rules'
    points by digest (`pack_rule_points`): matched to the new rules by theirs, so a rule kept
    across edits compares with itself; one since removed is named as such."""
    names = {rule_digest(name): name for name in new.rules}
    old: dict[str, int | float] = {}
    for key, points in (before.rules if before is not None else {}).items():
        old[names.get(key, key) if key.startswith(DIGEST_MARK) else key] = points
    moved = []
    for name in sorted(set(old) | set(new.rules)):
        was, now = old.get(name, 0), new.rules.get(name, 0)
        if was != now:
            shown = REMOVED_RULE if name.startswith(DIGEST_MARK) else name
            moved.append({"rule": shown, "before": was, "after": now})
    return moved


DIGEST_MARK = "#"  # rule keys are "group / rule id": never starting with it


def rule_digest(name: str) -> str:
    """A rule key as a state stores its points: `#` and 8 hex digits of its CRC-32."""
    return f"{DIGEST_MARK}{zlib.crc32(name.encode()):08x}"


def pack_rule_points(rules: Mapping[str, int | float]) -> bytes:
    """A state's rule points for storage: the non-zero ones, each as its key's digest (4 bytes)
    and its hundredths (a zigzag varint) — 15 rules in about 40 bytes instead of 550."""
    packed = bytearray()
    digests = {}
    for name, points in rules.items():
        hundredths = round(Decimal(str(points)) * 100)
        if hundredths:
            digest = name[1:] if name.startswith(DIGEST_MARK) else rule_digest(name)[1:]
            digests[digest] = int(hundredths)
    for digest in sorted(digests):
        packed += bytes.fromhex(digest)
        value = digests[digest]
        value = value * 2 if value >= 0 else -value * 2 - 1
        while value > 0x7F:
            packed.append((value & 0x7F) | 0x80)
            value >>= 7
        packed.append(value)
    return bytes(packed)


def unpack_rule_points(data: bytes) -> dict[str, int | float]:
    """Digest → points, as `pack_rule_points` stored them."""
    rules: dict[str, int | float] = {}
    at = 0
    while at < len(data):
        digest = data[at : at + 4].hex()
        at += 4
        value = shift = 0
        while True:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        hundredths = value // 2 if value % 2 == 0 else -(value + 1) // 2
        rules[f"{DIGEST_MARK}{digest}"] = points_json(hundredths)
    return rules


def set_new_score(
    state: ScoreState,
    new: NewScore,
    *,
    revision: int,
    tallies: bytes | None,
    cause: dict[str, Any],
    at: datetime,
    force: bool = False,
) -> dict[str, Any] | None:
    """Set the state to computed `new` under its override (as the state holds it: expired
    at `at`, it goes); the history entry to append when the effective score or status moved,
    an override expired, an input went stale, or `force` (an override set or cleared)."""
    old_score = state.score if state.stored else None
    old_status = state.status if state.stored else None
    old_stale = set(state.stale) if state.stored else set()
    override = state.current_override()
    if override is not None and at >= override.expires_at:
        ended = override.to_json()
        cause = {
            **cause,
            "override": {**ended, "action": "expired"},
            "summary": f"override expired ({_described(ended)}); {cause.get('summary', '')}",
        }
        state.override, override = None, None
    active = override is not None and override.in_effect(at)
    score, status, color = new.score, new.status, new.color
    if override is not None and active and state.override is not None:
        score = new.score if override.score is None else override.score
        status, color = override.status, str(state.override.get("color") or new.color)
    state.score, state.status, state.color = score, status, color
    state.computed_score = new.score if active else None
    state.computed_status = new.status if active else None
    state.groups, state.rules = new.groups, new.rules
    state.revision, state.tallies = revision, tallies
    state.stale = list(new.stale)
    state.due_day = next_day(new.next_change_day, [override] if override else [], at)
    state.updated_at = at
    newly = sorted(set(new.stale) - old_stale)
    if newly:
        went = f"out of date now: {', '.join(newly)}"
        summary = cause.get("summary")
        cause = {**cause, "summary": f"{summary}; {went}" if summary else went}
    moved = old_score != score or old_status != status
    if not (moved or force or newly or "override" in cause):
        return None
    delta = score - (old_score or 0)
    if moved:  # the card's "why" is the history entry written at `changed_at`
        state.changed_at = at
        state.change = {"delta": delta, "status_before": old_status, "kind": cause.get("kind")}
    entry: dict[str, Any] = {
        "at": at.isoformat(),
        "before": old_score,
        "after": score,
        "delta": delta,
        "status_before": old_status,
        "status_after": status,
        "cause": cause,
    }
    if active and state.override is not None:
        entry["computed_score"], entry["computed_status"] = new.score, new.status
        entry["override"] = {k: v for k, v in state.override.items() if k != "color"}
    if new.stale:
        entry["stale"] = list(new.stale)
    if newly:
        entry["newly_stale"] = newly
    return entry


def _described(override: dict[str, Any]) -> str:
    """'At-risk set by ann@example.com: renewal call went badly'."""
    return f"{override['status']} set by {override['set_by']}: {override['reason']}"


def removal_entry(state: ScoreState, cause: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The history entry of a record that no longer has a score (left scope, or deleted)."""
    return {
        "at": at.isoformat(),
        "before": state.score,
        "after": None,
        "delta": -state.score,
        "status_before": state.status,
        "status_after": None,
        "cause": cause,
    }


def status_change(
    account: str, definition_id: str, key: RecordKey, entry: dict[str, Any]
) -> StatusChange | None:
    if entry["status_before"] == entry["status_after"]:
        return None
    return StatusChange(
        account,
        definition_id,
        key[0],
        key[1],
        entry["before"],
        entry["after"],
        entry["status_before"],
        entry["status_after"],
        entry["at"],
        entry["cause"],
    )
