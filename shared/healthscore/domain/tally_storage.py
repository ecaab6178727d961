"""A tally's storage form: compact bytes for the score state item (JSON, zlib-compressed,
order-independent), and back."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from healthscore.domain.tallies import DateDays, Tally


def encode_tally(tally: Tally) -> bytes:
    """Compact bytes for the score state item (JSON, zlib-compressed; order-independent)."""

    def days(value: DateDays | None) -> list[list[int]] | None:
        return None if value is None else [list(d) for d in value]

    def ordered(rows: Iterable[list[Any]]) -> list[list[Any]]:
        return sorted(rows, key=json.dumps)  # a total order: rows may mix None and day lists

    document = {
        "e": [
            [g, r, ordered([p, d, days(ds), days(fs), n] for (p, d, ds, fs), n in counts.items())]
            for (g, r), counts in sorted(tally.events.items())
        ],
        "r": [
            [g, r, ordered([p, days(ds), n] for (p, ds), n in counts.items())]
            for (g, r), counts in sorted(tally.records.items())
        ],
        "p": tally.properties,
        "l": sorted(tally.lists),
    }
    if tally.changed:
        document["c"] = tally.changed
    text = json.dumps(document, separators=(",", ":"), sort_keys=True, default=str)
    return zlib.compress(text.encode(), 6)


def decode_tally(data: bytes) -> Tally:
    document = json.loads(zlib.decompress(data))

    def days(value: list[list[int]] | None) -> DateDays | None:
        return None if value is None else tuple(tuple(d) for d in value)

    tally = Tally(
        properties=dict(document["p"]),
        lists=frozenset(document["l"]),
        changed=dict(document.get("c", {})),
    )
    for g, r, entries in document["e"]:
        tally.events[(g, r)] = Counter(
            {(p, d, days(ds) or (), days(fs)): n for p, d, ds, fs, n in entries}
        )
    for g, r, entries in document["r"]:
        tally.records[(g, r)] = Counter({(p, days(ds) or ()): n for p, ds, n in entries})
    return tally
