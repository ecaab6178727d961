"""The batch engine's frame written straight to Parquet is the file the per-record rows make."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from healthscore.adapters.score_files import batch_rows, write_batch_parquet, write_parquet
from healthscore.dev.sample_portfolio import generate_portfolio
from healthscore.domain.validation import parse_definition
from healthscore.services.scoring import score_folder
from tests.builders import AS_OF

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "customer-health-score.json"


def test_the_frame_written_directly_equals_the_rows_written(tmp_path: Path) -> None:
    folder = tmp_path / "portfolio"
    generate_portfolio(folder, 80, seed=4, until=AS_OF.date())
    with (folder / "overrides.jsonl").open("a", encoding="utf-8") as overrides:
        for company, score in (("c0000001", 55), ("c0000002", None)):
            line = {
                "object_type": "companies",
                "id": company,
                "definition": "Customer health score",
                "status": "Healthy",
                "score": score,
                "reason": "renewal signed",
                "set_by": "csm-01",
                "set_at": "2026-06-01T09:00:00Z",
                "expires_at": "2026-12-31T00:00:00Z",
            }
            overrides.write(json.dumps(line) + "\n")
    definition = parse_definition(json.loads(EXAMPLE.read_text()))
    result = score_folder(definition, folder, AS_OF)
    direct, via_rows = tmp_path / "direct.parquet", tmp_path / "rows.parquet"

    assert write_batch_parquet(definition, result, direct) == result.frame.height
    write_parquet(batch_rows(definition, result), via_rows)

    written = pl.read_parquet(direct)
    assert written.equals(pl.read_parquet(via_rows))
    assert written.schema == pl.read_parquet(via_rows).schema
    # The sample exercises every optional column: overrides in effect and stale inputs.
    assert written["override"].is_not_null().sum() > 0
    assert written["computed_score"].is_not_null().sum() > 0
    assert written["stale"].is_not_null().sum() > 0
    assert written["stale"].is_null().sum() > 0
