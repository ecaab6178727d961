"""Use cases for records, associations and events (admin and test data; volume arrives by
webhook)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from healthscore.adapters.dataset_files import (
    parse_association,
    parse_event,
    parse_record,
)
from healthscore.domain.access import Caller
from healthscore.domain.changes import (
    AssociationChanged,
    EventArrived,
    PropertiesChanged,
    RecordDeleted,
)
from healthscore.domain.dataset import AssociationLine, Record, RecordKey
from healthscore.domain.errors import (
    InvalidRequest,
    NotFound,
)
from healthscore.ports import HealthScoreStore
from healthscore.services.incremental import IncrementalScorer
from healthscore.services.views import (
    parse_request,
    record_view,
)

RECORD_FIELDS = frozenset({"properties", "lists"})


class Records:
    """Records, associations and events of the caller's account; each change is scored at once,
    as the scorer would score it from a webhook."""

    def __init__(self, store: HealthScoreStore, scorer: IncrementalScorer | None = None) -> None:
        self.store = store
        self.scorer = scorer or IncrementalScorer(store)

    def put_record(self, caller: Caller, object_type: str, record_id: str, body: Any) -> Record:
        caller.require_manage()
        unknown = sorted(set(body) - RECORD_FIELDS) if isinstance(body, dict) else []
        if unknown:  # a misspelt `properties` would otherwise empty the record
            raise InvalidRequest(
                unknown[0], "is not a known field (a record body has properties and lists)"
            )
        raw = {
            **(body if isinstance(body, dict) else {}),
            "object_type": object_type,
            "id": record_id,
        }
        record = parse_request(parse_record, raw, "")
        for entry in self._outputs(caller.account_id, object_type):
            if entry["name"] in record.properties:
                raise InvalidRequest(
                    f"properties.{entry['name']}",
                    f"is the {entry['kind']} a live health score writes; it cannot be set",
                )
        at_ms = _now_ms()
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

    def _outputs(self, account: str, object_type: str) -> list[dict[str, Any]]:
        """The output properties live scores write on records of this type."""
        return [e for e in self.store.output_properties(account) if e["object_type"] == object_type]

    def get_record(self, caller: Caller, key: RecordKey) -> dict[str, Any]:
        record = self.store.record(caller.account_id, key)
        if record is None:
            raise NotFound(f"no {key[0]} record {key[1]!r}")
        links = self.store.associations_of(caller.account_id, key)
        view = record_view(record)
        outputs = self._outputs(caller.account_id, key[0])
        for definition_id in sorted({e["definition_id"] for e in outputs}):
            state = self.store.score(caller.account_id, definition_id, key)
            for entry in (e for e in outputs if e["definition_id"] == definition_id):
                if state is not None:  # in the score's segments: it has a score
                    value = state.score if entry["kind"] == "score" else state.status
                    view["properties"][entry["name"]] = value
        view["read_only"] = sorted(e["name"] for e in outputs if e["name"] in view["properties"])
        return {
            **view,
            "associations": [
                {"object_type": line.to_type, "id": line.to_id, "labels": list(line.labels)}
                for line in links
            ],
        }

    def delete_record(self, caller: Caller, key: RecordKey) -> None:
        caller.require_manage()
        if self.store.record(caller.account_id, key) is None:
            raise NotFound(f"no {key[0]} record {key[1]!r}")
        self.scorer.apply(caller.account_id, RecordDeleted(*key, _now_ms()))

    def put_association(self, caller: Caller, body: Any) -> AssociationLine:
        caller.require_manage()
        line = parse_request(parse_association, body, "")
        self.scorer.apply(caller.account_id, AssociationChanged(line, False, _now_ms()))
        return line

    def delete_association(self, caller: Caller, body: Any) -> None:
        caller.require_manage()
        line = parse_request(parse_association, body, "")
        if self.store.association_labels(caller.account_id, line) is None:
            raise NotFound("no such association")
        self.scorer.apply(caller.account_id, AssociationChanged(line, True, _now_ms()))

    def put_events(self, caller: Caller, body: Any) -> dict[str, int]:
        """Store native events and score them (idempotent per owner and id: a duplicate is
        counted, not applied). Senders with volume use the signed webhook instead."""
        caller.require_manage()
        if not isinstance(body, list):
            raise InvalidRequest("body", "must be a JSON array of events")
        events = [parse_request(parse_event, raw, f"[{i}].") for i, raw in enumerate(body)]
        stored = sum(
            not self.scorer.apply(caller.account_id, EventArrived(event)).duplicate
            for event in events
        )
        return {"received": len(events), "stored": stored, "duplicates": len(events) - stored}


def _now_ms() -> int:
    """When an API change happened: now (the records API's changes win over older webhooks,
    lose to newer ones)."""
    return int(datetime.now(UTC).timestamp() * 1000)
