"""The batch engine's exact shortcuts: hash-bucketed dedup and hash joins must equal the plain
Polars operations they replace, whatever the data (duplicates, missing ids, nulls)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from healthscore.domain.batch_frames import (
    first_of_each,
    first_of_each_kept_query,
    ids_hash_uniquely,
    join_on_ids,
    repeated_values,
)

ids = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "A", "", "10", "1"]))


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(sorted(frame.columns)).sort(pl.all(), nulls_last=True)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=40))
def test_repeated_values_is_is_duplicated(values: list[int]) -> None:
    series = pl.Series("h", values, dtype=pl.UInt64)
    repeated = repeated_values(series)
    expected = series.is_duplicated()
    if repeated is None:
        assert not expected.any()
    else:
        assert repeated.to_list() == expected.to_list()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(ids, st.integers(0, 3)), max_size=30))
def test_first_of_each_keeps_first_and_last_in_file_order(
    rows: list[tuple[str | None, int]],
) -> None:
    frame = pl.DataFrame(
        {"k": [k for k, _ in rows], "n": list(range(len(rows))), "v": [v for _, v in rows]},
        schema={"k": pl.String, "n": pl.Int64, "v": pl.Int64},
    )
    for keep in ("first", "last"):
        kept = first_of_each(frame.lazy(), ["k", "v"], "auto", keep=keep)
        expected = frame.unique(["k", "v"], keep=keep, maintain_order=True)  # type: ignore[arg-type]
        assert _sorted(kept).equals(_sorted(expected))


@settings(max_examples=150, deadline=None)
@given(st.lists(ids, max_size=30), st.lists(ids, max_size=15, unique=True))
def test_join_on_ids_equals_the_string_join(
    left_ids: list[str | None], right_ids: list[str | None]
) -> None:
    left = pl.DataFrame(
        {"a_id": left_ids, "x": list(range(len(left_ids)))},
        schema={"a_id": pl.String, "x": pl.Int64},
    )
    right = pl.DataFrame(
        {"id": right_ids, "y": [i * 10 for i in range(len(right_ids))]},
        schema={"id": pl.String, "y": pl.Int64},
    )
    inner = join_on_ids(left.lazy(), right.lazy(), "a_id", "id").collect()
    expected_inner = left.join(right, left_on="a_id", right_on="id", how="inner")
    assert _sorted(inner).equals(_sorted(expected_inner))
    unique = ids_hash_uniquely(right.drop_nulls("id"), "id")
    assert unique
    for right_unique in (True, False):
        joined = join_on_ids(
            left.lazy(),
            right.drop_nulls("id").lazy(),
            "a_id",
            "id",
            how="left",
            right_unique=right_unique,
        ).collect()
        expected_left = left.join(right.drop_nulls("id"), left_on="a_id", right_on="id", how="left")
        assert _sorted(joined).equals(_sorted(expected_left))


def test_join_on_ids_keeps_only_equal_ids_when_hashes_collide(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Force every id onto one hash: the joins must still match ids exactly."""
    monkeypatch.setattr(pl.Expr, "hash", lambda self, *a, **k: pl.lit(7, dtype=pl.UInt64))
    left = pl.DataFrame({"a_id": ["a", "b", "z", None], "x": [1, 2, 3, 4]})
    right = pl.DataFrame({"id": ["a", "b", "c"], "y": [10, 20, 30]})
    inner = join_on_ids(left.lazy(), right.lazy(), "a_id", "id").collect().sort("x")
    assert inner.rows() == [("a", 1, 10), ("b", 2, 20)]
    assert not ids_hash_uniquely(right, "id")
    joined = join_on_ids(left.lazy(), right.lazy(), "a_id", "id", how="left", right_unique=False)
    assert joined.collect().sort("x").rows() == [
        ("a", 1, 10),
        ("b", 2, 20),
        ("z", 3, None),
        (None, 4, None),
    ]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(ids, st.sampled_from(["x", "y"]), st.integers(0, 2)), max_size=30))
def test_first_of_each_kept_filters_after_keeping_the_first(
    rows: list[tuple[str | None, str, int]],
) -> None:
    # A repeat is dropped by the first line of its key even when the filter drops that line.
    frame = pl.DataFrame(
        {
            "k": [k for k, _t, _v in rows],
            "t": [t for _k, t, _v in rows],
            "v": [v for _k, _t, v in rows],
            "n": list(range(len(rows))),
        },
        schema={"k": pl.String, "t": pl.String, "v": pl.Int64, "n": pl.Int64},
    )
    kept = first_of_each_kept_query(
        frame.lazy(), ["k", "v"], "k", pl.col("t") == "x", [pl.all()], "auto"
    ).collect()
    expected = frame.unique(["k", "v"], keep="first", maintain_order=True).filter(
        pl.col("t") == "x"
    )
    assert kept.equals(expected)
