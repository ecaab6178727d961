"""Refusing a score that would depend on itself (domain/dependencies.py): checked whenever a
definition is created, edited, turned on or updated, and whenever a segment changes — over every
revision (draft and live) of every score of the account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthscore.adapters.dataset_files import RowError, parse_segment
from healthscore.domain.dataset import Segment
from healthscore.domain.definition import DefinitionError, ScoreDefinition
from healthscore.domain.dependencies import ScoreNode, find_cycle, node
from healthscore.domain.errors import Conflict
from healthscore.ports import HealthScoreStore


def refuse_cycles(
    store: HealthScoreStore,
    account: str,
    candidate: ScoreDefinition | None = None,
    segment: dict[str, Any] | None = None,
) -> None:
    """409 naming the path when the account's scores — with `candidate` in place of its stored
    revisions, and `segment` (a body) in place of the stored one — would contain a cycle."""
    segments: dict[str, Segment] = {}
    for stored in store.stored_segments(account):
        try:
            segments[stored.id] = parse_segment(stored.body)
        except RowError:
            continue  # a stored segment is valid; this only guards against old items
    if segment is not None:
        segments[str(segment["id"])] = parse_segment(segment)
    nodes: list[ScoreNode] = []  # the candidate first: a path found starts from it
    if candidate is not None and candidate.id is not None:
        nodes.append(node(candidate.id, candidate, segments))
    for item in store.definitions(account):
        if candidate is not None and item.id == candidate.id:
            continue
        for raw in (item.live, item.draft):
            parsed = _parsed(raw)
            if parsed is not None:
                nodes.append(node(item.id, parsed, segments))
    cycle = find_cycle(_merged(nodes))
    if cycle:
        raise Conflict(
            "a health score may not depend on itself through segments or other scores' "
            "outputs: " + " → ".join(repr(name) for name in cycle)
        )


def _parsed(raw: Mapping[str, Any] | None) -> ScoreDefinition | None:
    from healthscore.domain.validation import parse_definition

    if raw is None:
        return None
    try:
        return parse_definition(raw)
    except DefinitionError:
        return None


def _merged(nodes: list[ScoreNode]) -> list[ScoreNode]:
    """One node per score: what its revisions read and write, together."""
    merged: dict[str, ScoreNode] = {}
    for n in nodes:
        seen = merged.get(n.id)
        merged[n.id] = (
            n
            if seen is None
            else ScoreNode(
                n.id,
                n.name,
                n.object_type,
                {**seen.outputs, **n.outputs},
                seen.reads | n.reads,
            )
        )
    return list(merged.values())
