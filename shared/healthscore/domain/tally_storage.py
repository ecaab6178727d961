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

from healthscore.domain.tallies import (
    DateDays,
    DayTotals,
    EventEntry,
    EventSums,
    RecordEntry,
    RuleKey,
    RuleTotal,
    Tally,
)

FORMAT = 2  # the first byte of the binary form (zlib's JSON form starts with 0x78)
_RAW_DEFLATE = -15  # no zlib header or checksum: the item's own integrity is DynamoDB's


def encode_tally(tally: Tally) -> bytes:
    """Compact bytes for the score state item (deterministic; equal tallies, equal bytes)."""
    heads = bytearray()
    gaps: list[int] = []  # days between a series' days, less one
    counts: list[int] = []  # zigzagged
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
            previous = entries[0][0]
            _signed(previous, heads)
            for day, _n in entries[1:]:
                gaps.append(day - previous - 1)  # days of a series are distinct
                previous = day
            counts.extend([n * 2 if n >= 0 else -n * 2 - 1 for _day, n in entries])  # zigzag
    _varint(len(tally.records), heads)
    for key in sorted(tally.records):
        entries_of = sorted(tally.records[key].items())
        _rule(key, len(entries_of), heads)
        for (points, days), n in entries_of:
            _signed(points, heads)
            _date_days(days, heads)
            counts.append(_zigzag(n))
    _totals(tally.totals, heads)
    stored = bytearray([FORMAT])
    for stream in (bytes(heads), _varints(gaps)):
        packed = _deflate(stream, zlib.Z_DEFAULT_STRATEGY)
        _varint(len(packed), stored)
        stored += packed
    # counts are small numbers with no long repeats: Huffman codes alone pack them best
    return bytes(stored + _deflate(_varints(counts), zlib.Z_HUFFMAN_ONLY))


def decode_tally(data: bytes) -> Tally:
    if data[:1] != bytes([FORMAT]):
        return _decode_json(data)
    streams = []
    at = 1
    for _ in range(2):
        length, at = _read_varint(data, at)
        streams.append(zlib.decompress(data[at : at + length], _RAW_DEFLATE))
        at += length
    heads = _Reader(streams[0])
    gaps = iter(_read_varints(streams[1]))
    counts = iter(
        [
            v >> 1 if not v & 1 else -((v + 1) >> 1)  # zigzag
            for v in _read_varints(zlib.decompress(data[at:], _RAW_DEFLATE))
        ]
    )
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
            size, day = heads.varint(), heads.signed()
            events[(points, day, days, filters)] = next(counts)
            for _ in range(size - 1):
                day += next(gaps) + 1
                events[(points, day, days, filters)] = next(counts)
        tally.events[key] = events
    for _ in range(heads.varint()):
        key, size = (heads.varint(), heads.varint()), heads.varint()
        records: Counter[RecordEntry] = Counter()
        for _ in range(size):
            points = heads.signed()
            records[(points, _read_date_days(heads))] = next(counts)
        tally.records[key] = records
    tally.totals = _read_totals(heads)
    return tally


def _series_order(key: tuple[int, DateDays, DateDays | None]) -> tuple[Any, ...]:
    points, days, filters = key
    return (points, days, filters is not None, filters or ())


def _deflate(data: bytes, strategy: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, _RAW_DEFLATE, 9, strategy)
    return packer.compress(data) + packer.flush()


# which of an event rule's sums are stored (the others are 0; a lowest or highest, None): a bit each
_TOTAL, _DECAYED, _UNCOUNTED, _LOW, _HIGH = 1, 2, 4, 8, 16


def _totals(totals: DayTotals | None, out: bytearray) -> None:
    """What the tally scored on its day (domain/tally_scores.py), if it was scored: each event
    rule's sums that are not 0, each property rule's total that is not 0."""
    if totals is None:
        out.append(0)
        return
    out.append(1)
    _varint(totals.day, out)
    _varint(0 if totals.next_day is None else totals.next_day - totals.day + 1, out)
    _varint(len(totals.events), out)
    for key in sorted(totals.events):
        sums = totals.events[key]
        uncounted = sums.matched - sums.counted
        fields = [
            (_TOTAL, sums.total),
            (_DECAYED, sums.decayed),
            (_UNCOUNTED, uncounted),
            (_LOW, sums.low),
            (_HIGH, sums.high),
        ]
        present = [
            (bit, value)
            for bit, value in fields
            if (value is not None if bit in (_LOW, _HIGH) else value != 0)
        ]
        _varint(key[0], out)
        _varint(key[1], out)
        out.append(sum(bit for bit, _value in present))
        _signed(sums.matched, out)
        for _bit, value in present:
            _signed(int(value or 0), out)
    shown = {k: t for k, t in totals.properties.items() if (t.hundredths, t.matched) != (0, 0)}
    _varint(len(shown), out)
    for key in sorted(shown):
        total = shown[key]
        _varint(key[0], out)
        _varint(key[1], out)
        _signed(total.hundredths, out)
        _signed(total.uncapped_hundredths - total.hundredths, out)  # 0 unless its limit caps it
        _signed(total.matched, out)


def _read_totals(heads: _Reader) -> DayTotals | None:
    if not heads.byte():
        return None
    day, next_day = heads.varint(), heads.varint()
    events = {}
    for _ in range(heads.varint()):
        key, present = (heads.varint(), heads.varint()), heads.byte()
        matched = heads.signed()
        values = {
            bit: heads.signed()
            for bit in (_TOTAL, _DECAYED, _UNCOUNTED, _LOW, _HIGH)
            if present & bit
        }
        events[key] = EventSums(
            values.get(_TOTAL, 0),
            matched,
            values.get(_DECAYED, 0),
            matched - values.get(_UNCOUNTED, 0),
            values.get(_LOW),
            values.get(_HIGH),
        )
    properties = {}
    for _ in range(heads.varint()):
        key = (heads.varint(), heads.varint())
        hundredths = heads.signed()
        uncapped = hundredths + heads.signed()
        properties[key] = RuleTotal(hundredths, uncapped, heads.signed())
    return DayTotals(day, events, properties, day + next_day - 1 if next_day else None)


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
    _varint(_zigzag(value), out)


def _zigzag(value: int) -> int:
    return value * 2 if value >= 0 else -value * 2 - 1  # small either side of 0


def _unzigzag(value: int) -> int:
    return value // 2 if value % 2 == 0 else -(value + 1) // 2


def _varints(values: list[int]) -> bytes:
    """Unsigned varints, one after another (a value under 128 is its own byte: the usual case)."""
    if max(values, default=0) < 0x80:
        return bytes(values)
    out = bytearray()
    for value in values:
        _varint(value, out)
    return bytes(out)


def _read_varints(data: bytes) -> list[int]:
    if max(data, default=0) < 0x80:
        return list(data)
    values, at = [], 0
    while at < len(data):
        value, at = _read_varint(data, at)
        values.append(value)
    return values


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
        return _unzigzag(self.varint())

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
