"""Property-based checks: validation never crashes; whatever validates, scores."""

from __future__ import annotations

import copy
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthscore.domain.reference_engine import score
from healthscore.domain.validation import validate_definition
from tests.builders import AS_OF
from tests.strategies import datasets, definitions, with_statuses_of

# `make test` runs 120 of each; `make soak` 1,000.
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "120"))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = (
    "name",
    "object_type",
    "segments",
    "groups",
    "thresholds",
    "properties",
    "kind",
    "max_points",
    "rules",
    "decay",
    "event_type",
    "object",
    "points",
    "conditions",
    "timeframe",
    "frequency",
    "limit",
    "association",
    "operator",
    "value",
    "values",
    "points_by_value",
    "labels",
    "filters",
    "aggregation",
    "min",
    "max",
    "op",
    "unit",
    "every",
    "percent",
    "include_never",
    "label",
    "color",
    "property",
)


def _check_verdict(raw: Any) -> None:
    parsed, issues = validate_definition(raw)
    if parsed is None:
        assert issues, "a refused definition must say why"
        assert all(isinstance(i.path, str) and i.message for i in issues)
    else:
        assert issues == []


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_random_json_never_crashes_validate(raw):
    _check_verdict(raw)


@st.composite
def damaged_definitions(draw: st.DrawFn) -> Any:
    """A valid definition with one node replaced by random JSON (reaches deep validation)."""
    raw = copy.deepcopy(draw(definitions()))
    node: Any = raw
    for _ in range(draw(st.integers(0, 5))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict | list) or draw(st.booleans()):
                node[key] = draw(json_values)
                return raw
            node = node[key]
        elif isinstance(node, list) and node:
            index = draw(st.integers(0, len(node) - 1))
            if not isinstance(node[index], dict | list) or draw(st.booleans()):
                node[index] = draw(json_values)
                return raw
            node = node[index]
    if isinstance(node, dict):
        node[draw(st.sampled_from(FIELDS))] = draw(json_values)
    return raw


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_definitions())
def test_damaged_definitions_never_crash_validate(raw):
    _check_verdict(raw)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions(), datasets())
def test_every_valid_generated_definition_scores_without_error(raw, data):
    definition, issues = validate_definition(raw)
    assert issues == [], issues  # the generator only builds valid definitions
    assert definition is not None
    results = score(definition, with_statuses_of(definition, data), AS_OF)
    labels = {t.label for t in definition.thresholds}
    for result in results:
        assert 0 <= result.score <= 100
        assert result.status in labels
        for group in result.groups:
            cap = next(g.max_points for g in definition.groups if g.name == group.name) * 100
            assert -cap <= group.hundredths <= cap
        if result.next_change_day is not None and result.next_change_day <= AS_OF.date():
            # only an override that starts or ends later today changes the score today
            assert result.next_change_day == AS_OF.date()
            assert any(
                o.id == result.id and moment > AS_OF and moment.date() == AS_OF.date()
                for o in data.overrides
                for moment in (o.set_at, o.expires_at)
            ), result
