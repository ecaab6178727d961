"""What one change writes, all or nothing: the live revisions it scores with (kept per live
marker), the score states it sets (each with its version condition and history entry), and
what the commit reports (status changes to publish). Shared by the incremental scorer, the
sweep and the recompute.

A change is planned with the live scores as they were when it read the account's live marker,
and commits within `ATTEMPT_SECONDS` of that read or plans again; a state stored under a newer
revision than the one planned with means the scores changed since: plan again."""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from healthscore.adapters.dynamo_writes import is_throttled
from healthscore.domain.dataset import Record, RecordKey, Segment, StoredRecord
from healthscore.domain.definition import ScoreDefinition
from healthscore.domain.dependencies import node, upstream
from healthscore.domain.ordering import parse_stamp
from healthscore.domain.reference_engine import in_scope
from healthscore.domain.score_state import (
    NewScore,
    ScoreState,
    StatusChange,
    moved_rules,
    readable_rules,
    removal_entry,
    set_new_score,
    status_change,
)
from healthscore.domain.tallies import Tally, build_tally, compact
from healthscore.domain.tally_scores import score_from_tallies
from healthscore.domain.tally_storage import decode_tally, encode_tally
from healthscore.domain.validation import parse_definition
from healthscore.domain.values import utc_day
from healthscore.ports import ScoreStore, WriteRefused, record_neighbourhood
from healthscore.services.fan_out import PlannedWrites, Target, commit_planned

T = TypeVar("T")

EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
PARSED_REVISIONS = 256  # parsed live revisions (and accounts' live scores) kept per scorer
# A change commits within this long of reading the account's live marker, or plans again: a
# recompute exports the account only this long (and the marker's replication lag) after its score
# changed, so no change planned with the score as it was before can land after the export.
ATTEMPT_SECONDS = 5.0
MAX_ATTEMPTS = 25  # lost races for the same records before the queue redelivers the change

THROTTLE_RETRIES = 3  # throttled reads/writes retried here before the queue redelivers it


class ScoringContention(RuntimeError):
    """A change lost the race for its records too many times; the queue will redeliver it."""


@dataclass(frozen=True)
class LiveRevision:
    """A live health score as the scorer uses it: the revision its states must carry."""

    id: str
    revision: int
    definition: ScoreDefinition
    segments: tuple[Segment, ...]
    # other live scores' outputs it reads on its own records: (definition id, property, kind)
    upstream: tuple[tuple[str, str, str], ...] = ()

    @property
    def object_type(self) -> str:
        return self.definition.object_type

    @functools.cached_property
    def event_types(self) -> frozenset[str]:
        """The event types its rules count."""
        return frozenset(rule.event_type for _g, rule in self.definition.rules() if rule.event_type)


@dataclass
class Outcome:
    """What applying one change did."""

    duplicate: bool = False
    written: int = 0  # score states written or removed
    history: list[dict[str, Any]] = field(default_factory=list)
    status_changes: list[StatusChange] = field(default_factory=list)
    attempts: int = 1


@dataclass(frozen=True)
class Lives:
    """The account's live scores as read when its live marker was `marker`."""

    marker: int
    scores: list[LiveRevision]


class LivesChanged(Exception):
    """The account's live scores or segments changed since they were read (or a change took
    longer than `ATTEMPT_SECONDS` to commit after reading the marker): plan it again."""


class LiveRevisions:
    """The account's live scores as the scorer uses them, kept for as long as the account's live
    marker stays where it was read: every change reads the marker (in the same request as its
    score states) instead of every definition and segment. Each revision is parsed and validated
    once: a live revision's JSON never changes under its number, and the parse is most of the
    cost of reading them."""

    def __init__(self, store: ScoreStore) -> None:
        self.store = store
        self._parsed: dict[tuple[str, int, str], ScoreDefinition] = {}
        self._kept: dict[str, Lives] = {}

    def of(self, account: str) -> list[LiveRevision]:
        """Read now: the marker, then the definitions, and the segments when a score is live."""
        return self.load(account).scores

    def cached(self, account: str) -> Lives:
        """As last read (no request), or read now when this account was never read."""
        kept = self._kept.get(account)
        return kept if kept is not None else self.load(account)

    def load(self, account: str) -> Lives:
        """Read now and keep. The marker is read first: a change landing between it and the
        definitions leaves newer definitions under an older marker, which the next change's
        read of the marker replaces — never the other way round."""
        marker = self.store.live_marker(account)
        lives = Lives(marker, self._read(account))
        if len(self._kept) >= PARSED_REVISIONS:
            self._kept.clear()
        self._kept[account] = lives
        return lives

    def _read(self, account: str) -> list[LiveRevision]:
        live = self.store.live_definitions(account)
        if not live:
            return []
        segments = {s.id: s for s in self.store.segment_list(account)}
        parsed = [(d, r, self._parse(d, r, raw)) for d, r, raw in live]
        nodes = [node(d, definition, segments) for d, _r, definition in parsed]
        scores = []
        for (definition_id, revision, definition), reader in zip(parsed, nodes, strict=True):
            chosen = tuple(segments[s] for s in definition.segments if s in segments)
            reads = tuple(
                (other.id, name, other.outputs[name]) for other, name in upstream(reader, nodes)
            )
            scores.append(LiveRevision(definition_id, revision, definition, chosen, reads))
        return scores

    def _parse(self, definition_id: str, revision: int, raw: dict[str, Any]) -> ScoreDefinition:
        key = (definition_id, revision, json.dumps(raw, sort_keys=True))
        if key not in self._parsed:
            if len(self._parsed) >= PARSED_REVISIONS:
                self._parsed.clear()
            self._parsed[key] = parse_definition(raw)
        return self._parsed[key]


class InFlight:
    """This process's changes between their read of the live marker and the end of their
    commit. A recompute run in the same process (the local stack) waits for the ones that read
    the marker before its score changed instead of waiting `ATTEMPT_SECONDS` out; on AWS the
    scorers are other processes and the recompute waits the time out (services/recompute.py)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._open: Counter[datetime] = Counter()

    def begin(self, read_at: datetime) -> None:
        with self._changed:
            self._open[read_at] += 1

    def end(self, read_at: datetime) -> None:
        with self._changed:
            self._open[read_at] -= 1
            if self._open[read_at] <= 0:
                del self._open[read_at]
            self._changed.notify_all()

    def wait_before(self, instant: datetime, timeout: float = 2 * ATTEMPT_SECONDS) -> None:
        """Until none still open read the marker before `instant` (they commit or give up
        within `ATTEMPT_SECONDS` of it)."""
        with self._changed:
            self._changed.wait_for(
                lambda: not any(at < instant for at in self._open), timeout=timeout
            )


IN_FLIGHT = InFlight()  # one per process: what the local stack's recompute waits for


def until_committed(
    attempt: Callable[[int], T],
    *,
    sleep: Callable[[float], None],
    contention: str,
    on_refused: Callable[[WriteRefused, int], T | None] | None = None,
    throttle_retries: int = 0,
) -> T:
    """Run `attempt(n)` until its writes commit. A lost race (WriteRefused) backs off with
    jitter and tries again — unless `on_refused` answers instead (e.g. "a duplicate") — up to
    MAX_ATTEMPTS, then ScoringContention(`contention`); a throttled read or write is retried up
    to `throttle_retries` times. Every write path (scorer, sweep, recompute) goes through here."""
    throttled = 0
    for n in range(1, MAX_ATTEMPTS + 1):
        try:
            return attempt(n)
        except WriteRefused as refused:
            answer = on_refused(refused, n) if on_refused is not None else None
            if answer is not None:
                return answer
            sleep(random.uniform(0, min(0.5, 0.005 * 2**n)))
        except Exception as error:  # a throttled read or write is retried; nothing else
            throttled += 1
            if not is_throttled(error) or throttled > throttle_retries:
                raise
            sleep(random.uniform(0, 0.05 * 2**throttled))
    raise ScoringContention(contention)


class ScoreWrite:
    """What one attempt at a change writes (the account's unit of work, committed at once), and
    what it will report once committed."""

    def __init__(
        self,
        store: ScoreStore,
        account: str,
        at: datetime,
        cause: dict[str, Any],
        explain: Callable[[LiveRevision, list[dict[str, Any]]], str] | None = None,
    ) -> None:
        self.store, self.account, self.at, self.cause = store, account, at, cause
        self.explain = explain
        self.writes = PlannedWrites()
        self.marker: int | None = None  # the live marker the plan was checked against
        self._deadline = 0.0  # monotonic: commit before, or read the marker again
        self.stamp: str | None = None  # the change's stamp: lets a big change commit in steps
        self.more = False  # a step of a change that goes on (a deletion of many links)
        self.step = ""  # which step: its markers are its own
        self._outcomes: dict[Target, Outcome] = {}

    def saw(self, marker: int, read_at: float | None = None) -> None:
        """The plan used the live scores of `marker`, the account's live marker as read at
        `read_at` (monotonic; None: just now)."""
        self.marker = marker
        self._deadline = (time.monotonic() if read_at is None else read_at) + ATTEMPT_SECONDS

    def _for(self, live: LiveRevision, key: RecordKey) -> Outcome:
        """Writes and outcome from here on are this score state's."""
        self.writes.target = (live.id, key)
        return self._outcomes.setdefault((live.id, key), Outcome())

    def write_state(
        self,
        live: LiveRevision,
        key: RecordKey,
        before: ScoreState | None,
        tally: Tally | None,
        today: date,
    ) -> None:
        """Score `tally` and write the state (None, or out of scope: the state goes)."""
        _not_newer(before, live)
        self._for(live, key)
        # the state's next version orders (and keeps apart) history entries of one instant
        sequence = (before.version or 0) + 1 if before is not None else 1
        definition = live.definition
        if tally is not None:
            own = Record(key[0], key[1], tally.properties, tally.lists)
            if not in_scope(own, live.segments, today):
                tally = None
        if tally is None:
            if before is not None:
                self.writes.delete_state(before)
                removal = removal_entry(before, {**self.cause, "scope": "left"}, self.at)
                self._history(live, key, removal, sequence)
            self.writes.target = None
            return
        compact(definition, tally, today)
        result = score_from_tallies(definition, tally, today, live.segments)
        tally.totals = result.totals  # kept with it: more events today move them in O(1)
        self.write_scored(live, key, before, NewScore.from_tally(definition, result), tally)

    def write_scored(
        self,
        live: LiveRevision,
        key: RecordKey,
        before: ScoreState | None,
        new: NewScore,
        tally: Tally | None,
        *,
        force_history: bool = False,
    ) -> None:
        """Write a state already scored (by its tally, or by the batch engine with the tally
        that goes with it — or None: built from storage on the record's next change). A history
        entry is written when what the card shows moved, or with `force_history`."""
        _not_newer(before, live)
        outcome = self._for(live, key)
        sequence = (before.version or 0) + 1 if before is not None else 1
        names = readable_rules(live.definition)
        moved = [
            {**m, "rule": names.get(m["rule"], m["rule"]), "rule_id": m["rule"]}
            for m in moved_rules(before, new)
        ]
        cause = {**self.cause, "rules": moved}
        if self.explain is not None:
            cause["summary"] = self.explain(live, moved)
        state = before or ScoreState(live.id, key)
        entry = set_new_score(
            state,
            new,
            revision=live.revision,
            tallies=None if tally is None else encode_tally(tally),
            cause=cause,
            at=self.at,
            force=force_history,
        )
        self.writes.put_state(state)
        outcome.written += 1
        if entry is not None:
            self._history(live, key, entry, sequence)
        self.writes.target = None

    def _history(self, live: LiveRevision, key: RecordKey, entry: dict[str, Any], seq: int) -> None:
        outcome = self._for(live, key)
        sequenced = {**entry, "sequence": seq}
        self.writes.append_history(live.id, key, self.at, sequenced)
        outcome.history.append({**sequenced, "definition_id": live.id, "record": list(key)})
        change = status_change(self.account, live.id, key, sequenced)
        if change is not None:
            outcome.status_changes.append(change)

    def commit(self) -> Outcome:
        """Commit the change (in steps when it is too big for one transaction); what the
        states written now report. LivesChanged: the live scores changed since it was planned."""
        self.writes.target = None
        if self.marker is not None and time.monotonic() > self._deadline:
            # planned long ago (a rebuild from a long history): still current if the marker
            # has not moved since
            if self.store.live_marker(self.account) != self.marker:
                raise LivesChanged(
                    f"the live scores changed while {self.cause['summary']!r} was planned"
                )
            self.saw(self.marker)
        committed = commit_planned(self.store, self.account, self.writes, self.stamp)
        total = Outcome()
        for target, outcome in self._outcomes.items():
            if target in committed:
                total.written += outcome.written
                total.history += outcome.history
                total.status_changes += outcome.status_changes
        return total


def _not_newer(state: ScoreState | None, live: LiveRevision) -> None:
    """A state already under a newer revision than the one planned with: the live scores
    changed since they were read."""
    if state is not None and state.revision > live.revision:
        raise LivesChanged(
            f"{state.key[0]}/{state.key[1]} is at revision {state.revision} of "
            f"{state.definition_id}; planned with {live.revision}"
        )


def current_tally(
    store: ScoreStore,
    account: str,
    live: LiveRevision,
    key: RecordKey,
    state: ScoreState | None,
    today: date,
    new_record: bool = False,
    revived: bool = False,
) -> Tally | None:
    """The record's current tally: from its state, or rebuilt from what is stored (a new state,
    or one from an older revision). None: the record has no line, so no score (unless
    `new_record`: the change being applied creates the line; `revived`: it brings a tombstoned
    record back, whose kept events count again)."""
    if state is not None and state.revision == live.revision and state.tallies:
        tally = decode_tally(state.tallies)
    else:
        contacts_events = live.object_type == "companies"
        data = (
            record_neighbourhood(store, account, key, contacts_events, revived=True)
            if revived
            else store.neighbourhood(account, key, contacts_events=contacts_events)
        )
        if not data.has_record(key) and not new_record:
            return None
        tally = build_tally(live.definition, data, data.record(key), live.segments)
        if live.definition.freshness:
            tally.changed = change_days(live.definition, store.stored_record(account, key))
    if overlay_outputs(tally.properties, upstream_outputs(store, account, live, key)):
        tally.totals = None  # another score's output it reads moved: score it whole
    compact(live.definition, tally, today)
    return tally


def upstream_outputs(
    store: ScoreStore,
    account: str,
    live: LiveRevision,
    key: RecordKey,
    states: Mapping[tuple[str, RecordKey], ScoreState] | None = None,
) -> dict[str, Any]:
    """The outputs of other live scores this score reads on the record, from their states
    (None: the record has no score from it) — read now, unless `states` is a read of every
    live score's state of the record."""
    if not live.upstream:
        return {}
    if states is None:
        wanted = sorted({(definition_id, key) for definition_id, _name, _kind in live.upstream})
        states = store.score_states(account, wanted)
    values: dict[str, Any] = {}
    for definition_id, name, kind in live.upstream:
        state = states.get((definition_id, key))
        values[name] = None if state is None else state.score if kind == "score" else state.status
    return values


def overlay_outputs(properties: dict[str, Any], values: Mapping[str, Any]) -> bool:
    """Other scores' outputs are properties of the record: set (or removed) as they are now.
    Whether any of them moved."""
    moved = False
    for name, value in values.items():
        moved |= properties.get(name) != value
        if value is None:
            properties.pop(name, None)
        else:
            properties[name] = value
    return moved


def change_days(definition: ScoreDefinition, stored: StoredRecord | None) -> dict[str, int]:
    """The days (ordinals) its freshness rules' properties last changed, from their stamps."""
    if stored is None:
        return {}
    days = {}
    for rule in definition.freshness:
        millis, _id = parse_stamp(stored.property_times.get(rule.property, ""))
        if millis:
            days[rule.property] = utc_day(EPOCH_UTC + timedelta(milliseconds=millis)).toordinal()
    return days
