"""`make bench`: the batch engine at portfolio scale, and the reference engine for comparison.

Workload (issue 3): the bulk sample portfolio — per 1,000,000 companies about 5,000,000 contacts,
1,100,000 tickets and 20,000,000 events over 365 days — scored with docs/examples/
portfolio-benchmark.json (the five pre-defined groups plus an `avg` roll-up: 14 rules, with
decay, timeframes, a frequency and association labels).

Prints, per size: generation time (not part of scoring), dataset load (scan + checks) and
scoring time of the Polars engine, and peak RSS; then the reference engine on a 10,000-company
slice (the first 10,000 companies of every size are the same companies), its time per company,
and the speed-up extrapolated to the largest size. Each measurement runs in its own process so
peak RSS is that measurement's alone.

    python scripts/bench.py [SIZE ...]        default: 100000 250000 500000 1000000
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

DEFINITION = Path(__file__).parents[1] / "docs" / "examples" / "portfolio-benchmark.json"
END = date(2026, 6, 15)
AS_OF = datetime(2026, 6, 15, 18, tzinfo=UTC)
SLICE = 10_000


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it is not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(engine: str, folder: Path) -> dict[str, float]:
    """Run in a child process: load and score one dataset with one engine."""
    from healthscore.services.scoring import load_definition

    definition = load_definition(DEFINITION)
    if engine == "polars":
        from healthscore.adapters.dataset_frames import scan_dataset
        from healthscore.domain.batch_engine import score_frames

        started = time.perf_counter()
        frames = scan_dataset(folder)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        scored = score_frames(definition, frames, AS_OF).frame.height
        elapsed = time.perf_counter() - started
    else:
        from healthscore.adapters.dataset_files import read_dataset
        from healthscore.domain.reference_engine import score

        started = time.perf_counter()
        data = read_dataset(folder)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        scored = len(score(definition, data, AS_OF))
        elapsed = time.perf_counter() - started
    return {"load": loaded, "score": elapsed, "scored": scored, "rss_mb": peak_rss_mb()}


def in_child(engine: str, folder: Path) -> dict[str, float]:
    run = subprocess.run(
        [sys.executable, __file__, "--measure", engine, str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(run.stdout.splitlines()[-1]))


def generate(folder: Path, companies: int) -> tuple[float, str]:
    """Generate in a child process, so the measuring processes start from a small parent."""
    run = subprocess.run(
        [sys.executable, __file__, "--generate", str(companies), str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed, shape = json.loads(run.stdout.splitlines()[-1])
    return float(elapsed), str(shape)


def generate_here(folder: Path, companies: int) -> tuple[float, str]:
    from healthscore.dev.bulk_portfolio import generate_bulk_portfolio

    started = time.perf_counter()
    summary = generate_bulk_portfolio(folder, companies, seed=7, until=END)
    elapsed = time.perf_counter() - started
    shape = f"{summary.contacts:,} contacts, {summary.tickets:,} tickets, {summary.events:,} events"
    return elapsed, shape


def main(sizes: list[int]) -> None:
    print(f"Polars batch engine, {DEFINITION.name} (14 rules), as of {AS_OF:%Y-%m-%d %H:%M} UTC")
    print("| companies | dataset | generate | load | score | per company | peak RSS |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    polars_score: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for companies in sizes:
            folder = Path(workdir) / f"bulk-{companies}"
            generated, shape = generate(folder, companies)
            figures = in_child("polars", folder)
            assert figures["scored"] == companies
            polars_score[companies] = figures["score"]
            print(
                f"| {companies:,} | {shape} | {generated:.1f} s | {figures['load']:.1f} s "
                f"| {figures['score']:.1f} s | {figures['score'] / companies * 1e6:.1f} µs "
                f"| {figures['rss_mb']:,.0f} MB |",
                flush=True,
            )
        folder = Path(workdir) / f"bulk-{SLICE}"
        generate(folder, SLICE)
        reference = in_child("reference", folder)
        polars_slice = in_child("polars", folder)
    per_company = reference["score"] / SLICE
    largest = max(sizes)
    extrapolated = per_company * largest
    print()
    print(f"Reference engine on a {SLICE:,}-company slice (same data, same definition)")
    print("| engine | load | score | per company | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, figures in (("reference", reference), ("polars", polars_slice)):
        print(
            f"| {name} | {figures['load']:.1f} s | {figures['score']:.2f} s "
            f"| {figures['score'] / SLICE * 1e6:,.1f} µs | {figures['rss_mb']:,.0f} MB |"
        )
    print()
    print(
        f"Reference extrapolated to {largest:,} companies: {extrapolated:,.0f} s; "
        f"Polars measured: {polars_score[largest]:.1f} s; "
        f"speed-up ×{extrapolated / polars_score[largest]:,.0f}"
    )
    if len(sizes) > 1:
        smallest = min(sizes)
        ratio = polars_score[largest] / polars_score[smallest]
        print(
            f"Growth {smallest:,} → {largest:,} companies (×{largest / smallest:g}): "
            f"score time ×{ratio:.1f}"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2], Path(sys.argv[3]))))
    elif sys.argv[1:2] == ["--generate"]:
        print(json.dumps(generate_here(Path(sys.argv[3]), int(sys.argv[2]))))
    else:
        main([int(arg) for arg in sys.argv[1:]] or [100_000, 250_000, 500_000, 1_000_000])
