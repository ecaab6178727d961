"""Scores that read other scores: a live score's output properties (its score and its status)
are properties of each record it scores, so a segment or a self-property rule may read them
("Healthy upmarket companies" = `upmarket_health_status eq_any ["Healthy"]`).

A score may not depend on itself — through its segments or its rules, directly or through other
scores' outputs: `find_cycle` names the path of such a dependency, and the definition that would
close it is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from healthscore.domain.dataset import Segment
from healthscore.domain.definition import DEFAULT_ASSOCIATION, ScoreDefinition


@dataclass(frozen=True, slots=True)
class ScoreNode:
    """One score as the dependency graph sees it."""

    id: str
    name: str
    object_type: str
    outputs: Mapping[str, str]  # property → "score" or "status"
    reads: frozenset[tuple[str, str]]  # (object type, property) it reads


def outputs_of(definition: ScoreDefinition) -> dict[str, str]:
    """The properties a score writes on each record it scores: name → "score" / "status"."""
    properties = definition.output_properties()
    return {properties.score.name: "score", properties.status.name: "status"}


def reads_of(definition: ScoreDefinition, segments: Mapping[str, Segment]) -> set[tuple[str, str]]:
    """Every (object type, property) a score reads: its segments' conditions and its property
    rules' (own or associated records'), and the association filters of its rules."""
    own = definition.object_type
    reads = {
        (segments[s].object_type, c.property)
        for s in definition.segments
        if s in segments
        for c in segments[s].conditions
        if c.property
    }
    for _group, rule in definition.rules():
        association = rule.association or DEFAULT_ASSOCIATION
        if rule.event_type is None:
            target = own if rule.target == "self" else rule.target
            reads |= {(target, c.property) for c in rule.conditions if c.property}
            if rule.target != "self":
                reads |= {(rule.target, c.property) for c in association.filters if c.property}
        elif own == "companies":
            reads |= {("contacts", c.property) for c in association.filters if c.property}
    return reads


def node(
    definition_id: str, definition: ScoreDefinition, segments: Mapping[str, Segment]
) -> ScoreNode:
    return ScoreNode(
        definition_id,
        definition.name,
        definition.object_type,
        outputs_of(definition),
        frozenset(reads_of(definition, segments)),
    )


def upstream(reader: ScoreNode, others: Iterable[ScoreNode]) -> list[tuple[ScoreNode, str]]:
    """The scores whose outputs `reader` reads on its own records, with each property read."""
    return [
        (other, name)
        for other in others
        if other.id != reader.id and other.object_type == reader.object_type
        for name in sorted(other.outputs)
        if (reader.object_type, name) in reader.reads
    ]


def find_cycle(nodes: Sequence[ScoreNode]) -> list[str] | None:
    """A chain of scores each reading the next one's outputs and ending where it started, as
    their names (`["A", "B", "A"]`); None when no score depends on itself."""
    edges: dict[str, list[ScoreNode]] = {
        n.id: [
            other
            for other in nodes
            if any((other.object_type, name) in n.reads for name in other.outputs)
        ]
        for n in nodes
    }
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[ScoreNode] = []

    def visit(current: ScoreNode) -> list[str] | None:
        state[current.id] = 1
        path.append(current)
        for nxt in edges[current.id]:
            if state.get(nxt.id) == 1:
                start = next(i for i, n in enumerate(path) if n.id == nxt.id)
                return [n.name for n in path[start:]] + [nxt.name]
            if state.get(nxt.id) is None:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[current.id] = 2
        return None

    for n in nodes:
        if state.get(n.id) is None:
            found = visit(n)
            if found:
                return found
    return None
