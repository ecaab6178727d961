"""The project's documentation stands on its own: no page, docstring or comment sends a reader
to a specification outside the repository, and the definition reference lists every event type
the catalog knows."""

from __future__ import annotations

import re
from pathlib import Path

from healthscore.domain.catalog import EVENT_CATALOG

ROOT = Path(__file__).parents[2]
READ = ["README.md", "docs/*.md", "shared/**/*.py", "functions/**/*.py", "notebooks/*.py"]


def test_nothing_points_to_a_document_outside_the_repository() -> None:
    outside = re.compile(r"DESIGN\.md|\.\./shared/")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for pattern in READ
        for path in ROOT.glob(pattern)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    assert found == []


def test_the_definition_reference_lists_the_whole_event_catalog() -> None:
    text = (ROOT / "docs" / "definition-reference.md").read_text()
    section = text.split("## The event catalog", 1)[1]
    listed = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)
    assert listed == list(EVENT_CATALOG)
