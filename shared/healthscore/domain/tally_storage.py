"""A tally's storage form: compact bytes for the score state item, and back.

The form is binary and columnar, then deflated: one stream of series headers (rule, points,
date-condition days), one of day gaps and one of counts, all as varints. A series is one rule's
entries that differ only by day, sorted by day, so its days are small gaps (mostly 0 or 1) and
its counts small numbers: deflate brings a year of dense daily activity on five rules (about
1,000 entries, 27 events a day) to about 600 bytes, where the JSON form took 3 KB. Encoding is
deterministic and order-independent (equal tallies give equal bytes).

Bytes written before this form (zlib-compressed JSON, which starts with 0x78) still decode.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from healthscore.domain.tallies import DateDays, EventEntry, RecordEntry, RuleKey, Tally

FORMAT = 2  # the first byte of the binary form (zlib's JSON form starts with 0x78)
_RAW_DEFLATE = -15  # no zlib header or checksum: the item's own integrity is DynamoDB's


def encode_tally(tally: Tally) -> bytes:
    """Compact bytes for the score state item (deterministic; equal tallies, equal bytes)."""
    heads, gaps, counts = bytearray(), bytearray(), bytearray()
    meta = [tally.properties, sorted(tally.lists), tally.changed]
    text = json.dumps(meta, separators=(",", ":"), sort_keys=True, default=str).encode()
    _varint(len(text), heads)
    heads += text
    _varint(len(tally.events), heads)
    for key in sorted(tally.events):
        series: dict[tuple[int, DateDays, DateDays | None], list[tuple[int, int]]] = {}
        for (points, day, days, filters), n in tally.events[key].items():
            series.setdefault((points, days, filters), []).append((day, n))
        _rule(key, len(series), heads)
        for points, days, filters in sorted(series, key=_series_order):
            _signed(points, heads)
            _date_days(days, heads)
            if filters is None:
                heads.append(0)
            else:
                heads.append(1)
                _date_days(filters, heads)
            entries = sorted(series[(points, days, filters)])
            _varint(len(entries), heads)
            previous = None
            for day, n in entries:
                if previous is None:
                    _signed(day, gaps)
                else:
                    _varint(day - previous - 1, gaps)  # days of a series are distinct
                previous = day
                _signed(n, counts)
    _varint(len(tally.records), heads)
    for key in sorted(tally.records):
        entries_of = sorted(tally.records[key].items(), key=lambda item: _record_order(item[0]))
        _rule(key, len(entries_of), heads)
        for (points, days), n in entries_of:
            _signed(points, heads)
            _date_days(days, heads)
            _signed(n, counts)
    body = bytearray()
    for stream in (heads, gaps, counts):
        _varint(len(stream), body)
        body += stream
    # small numbers repeat rather than strings: Huffman codes with short matches pack them best
    packer = zlib.compressobj(9, zlib.DEFLATED, _RAW_DEFLATE, 9, zlib.Z_FILTERED)
    return bytes([FORMAT]) + packer.compress(bytes(body)) + packer.flush()


def decode_tally(data: bytes) -> Tally:
    if data[:1] != bytes([FORMAT]):
        return _decode_json(data)
    body = zlib.decompress(data[1:], _RAW_DEFLATE)
    streams = []
    at = 0
    for _ in range(3):
        length, at = _read_varint(body, at)
        streams.append(_Reader(body[at : at + length]))
        at += length
    heads, gaps, counts = streams
    text = heads.take(heads.varint())
    properties, lists, changed = json.loads(text)
    tally = Tally(properties=dict(properties), lists=frozenset(lists), changed=dict(changed))
    for _ in range(heads.varint()):
        key, series = (heads.varint(), heads.varint()), heads.varint()
        events: Counter[EventEntry] = Counter()
        for _ in range(series):
            points = heads.signed()
            days = _read_date_days(heads)
            filters = _read_date_days(heads) if heads.byte() else None
            day = None
            for _ in range(heads.varint()):
                day = gaps.signed() if day is None else day + gaps.varint() + 1
                events[(points, day, days, filters)] = counts.signed()
        tally.events[key] = events
    for _ in range(heads.varint()):
        key, size = (heads.varint(), heads.varint()), heads.varint()
        records: Counter[RecordEntry] = Counter()
        for _ in range(size):
            points = heads.signed()
            records[(points, _read_date_days(heads))] = counts.signed()
        tally.records[key] = records
    return tally


def _series_order(key: tuple[int, DateDays, DateDays | None]) -> tuple[Any, ...]:
    points, days, filters = key
    return (points, days, filters is not None, filters or ())


def _record_order(entry: RecordEntry) -> tuple[Any, ...]:
    return entry


def _rule(key: RuleKey, size: int, out: bytearray) -> None:
    _varint(key[0], out)
    _varint(key[1], out)
    _varint(size, out)


def _date_days(days: DateDays, out: bytearray) -> None:
    _varint(len(days), out)
    for ordinals in days:
        _varint(len(ordinals), out)
        for ordinal in ordinals:
            _signed(ordinal, out)


def _read_date_days(reader: _Reader) -> DateDays:
    return tuple(
        tuple(reader.signed() for _ in range(reader.varint())) for _ in range(reader.varint())
    )


def _varint(value: int, out: bytearray) -> None:
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _signed(value: int, out: bytearray) -> None:
    _varint(value * 2 if value >= 0 else -value * 2 - 1, out)  # zigzag: small either side of 0


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def varint(self) -> int:
        value, self.at = _read_varint(self.data, self.at)
        return value

    def signed(self) -> int:
        value = self.varint()
        return value // 2 if value % 2 == 0 else -(value + 1) // 2

    def byte(self) -> int:
        self.at += 1
        return self.data[self.at - 1]

    def take(self, size: int) -> bytes:
        self.at += size
        return self.data[self.at - size : self.at]


def _decode_json(data: bytes) -> Tally:
    """The form written before the binary one: zlib-compressed JSON."""
    document = json.loads(zlib.decompress(data))

    def days(value: Iterable[Iterable[int]] | None) -> DateDays | None:
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
