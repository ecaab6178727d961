"""The order files are handed to the two xdist workers (`make test` runs `--dist loadfile`):
the long end-to-end and DynamoDB Local files first, the quick unit files last, so the run does
not end with one worker alone on a long file while the other idles. Order within a file, and
what runs, are unchanged."""

from __future__ import annotations

import pytest

# Folders by how long their files take, longest first; anything else goes last.
LONGEST_FIRST = (
    "tests/e2e/",
    "tests/notebooks/",
    "tests/scoring/",
    "tests/differential/",
    "tests/integration/",
    "tests/api/",
    "tests/contract/",
)


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return next(
        (i for i, folder in enumerate(LONGEST_FIRST) if path.startswith(folder)),
        len(LONGEST_FIRST),
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: each file keeps its own order
