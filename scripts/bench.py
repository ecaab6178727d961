"""`make bench`: figures for the scoring core on the sample portfolio.

Prints, per portfolio size: generation time, dataset load time, reference-engine scoring time,
microseconds per scored company, and the process's peak RSS. Sizes come from the command line
(default 10,000 companies); the figures go into docs/benchmarks.md.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from healthscore.adapters.dataset_files import read_dataset
from healthscore.domain.reference_engine import score
from healthscore.domain.templates import build_from_templates
from healthscore.services.sample_portfolio import generate_portfolio

END = date(2026, 6, 15)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def bench(companies: int, workdir: Path) -> str:
    folder = workdir / f"portfolio-{companies}"
    started = time.perf_counter()
    summary = generate_portfolio(folder, companies, seed=7, until=END)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    data = read_dataset(folder)
    loaded = time.perf_counter() - started
    definition = build_from_templates("Customer health", ["seg-all-companies"])
    started = time.perf_counter()
    results = score(definition, data, datetime(2026, 6, 15, 18, tzinfo=UTC))
    scored = time.perf_counter() - started
    return (
        f"| {companies:,} | {summary.contacts:,} | {summary.events:,} | {generated:.1f} s "
        f"| {loaded:.1f} s | {scored:.1f} s | {scored / len(results) * 1e6:,.0f} µs "
        f"| {peak_rss_mb():,.0f} MB |"
    )


def main(sizes: list[int]) -> None:
    print("Reference engine on the sample portfolio (5 pre-defined groups, 13 rules)")
    print("| companies | contacts | events | generate | load | score | per company | peak RSS |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as workdir:
        for companies in sizes:
            print(bench(companies, Path(workdir)), flush=True)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000])
