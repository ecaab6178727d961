"""`make bench`: the batch engine against a hand-written DuckDB peer and a lower bound.

Workload: the bulk sample portfolio — per 1,000,000 companies about 5,000,000 contacts,
1,100,000 tickets and 20,000,000 events over 365 days — scored with docs/examples/
portfolio-benchmark.json (six groups, 14 rules: decay, timeframes, a frequency, limits,
association labels, an `avg` roll-up).

Per size it first checks that the peer (scripts/bench_peer.py) computes the engine's scores,
record by record and group by group — also on a copy of the smallest dataset with repeated
record lines (the later one changed), repeated event lines and repeated association lines
(another label; `write_with_repeats`) — then times, in interleaved rounds, each in its own
process held to 2 threads:

- engine: load + score in process (`scan_dataset` + `score_frames`, imports excluded);
- CLI: `healthscore score … --format parquet --output …` end to end (a process's whole life);
- peer: the DuckDB SQL computing the same scores into a table;
- lower bound: read the events, keep the 5 types the definition counts, join contact events
  to their companies, count per company and type (Polars, as the engine: the floor of the work
  it cannot avoid).

Prints each one's median and range and, per round, its ratio to the engine measured in that
round (median and range of the ratios); then the reference engine on a 10,000-company slice.

    python scripts/bench.py [SIZE ...]        default: 100000 1000000
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).parents[1]
DEFINITION = ROOT / "docs" / "examples" / "portfolio-benchmark.json"
END = date(2026, 6, 15)
AS_OF = datetime(2026, 6, 15, 18, tzinfo=UTC)
SLICE = 10_000
ROUNDS = 3
THREADS = "2"
USED_TYPES = ["meeting_booked", "email_replied", "sales_email_replied", "document_viewed"]
USED_TYPES.append("call_ended")


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it is not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(what: str, folder: Path) -> dict[str, float]:
    """Run in a child process: one measurement."""
    if what == "peer":
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_peer import peer_scores

        started = time.perf_counter()
        _connection, scored = peer_scores(folder, AS_OF.date(), threads=int(THREADS))
        return {"seconds": time.perf_counter() - started, "scored": scored, "rss": peak_rss_mb()}
    if what == "lower":
        import polars as pl

        started = time.perf_counter()
        counted = _lower_bound(pl, folder)
        return {"seconds": time.perf_counter() - started, "scored": counted, "rss": peak_rss_mb()}
    from healthscore.services.scoring import load_definition

    definition = load_definition(DEFINITION)
    if what == "engine":
        from healthscore.adapters.dataset_frames import scan_dataset
        from healthscore.domain.batch_engine import score_frames

        started = time.perf_counter()
        scored = score_frames(definition, scan_dataset(folder), AS_OF).frame.height
    else:
        from healthscore.adapters.dataset_files import read_dataset
        from healthscore.domain.reference_engine import score

        started = time.perf_counter()
        scored = len(score(definition, read_dataset(folder), AS_OF))
    return {"seconds": time.perf_counter() - started, "scored": scored, "rss": peak_rss_mb()}


def _lower_bound(pl, folder: Path) -> int:  # type: ignore[no-untyped-def]
    events = (
        pl.scan_parquet(folder / "events.parquet")
        .filter(pl.col("type").is_in(USED_TYPES))
        .select("type", "object_type", "object_id")
    )
    links = (
        pl.scan_parquet(folder / "associations.parquet")
        .filter(pl.col("from_type") == "companies", pl.col("to_type") == "contacts")
        .select(pl.col("from_id").alias("company"), pl.col("to_id").alias("object_id"))
    )
    own = events.filter(pl.col("object_type") == "companies").select(
        pl.col("object_id").alias("company"), "type"
    )
    theirs = (
        events.filter(pl.col("object_type") == "contacts")
        .join(links, on="object_id")
        .select("company", "type")
    )
    return int(pl.concat([own, theirs]).group_by("company", "type").len().collect().height)


def check(folder: Path) -> dict[str, int]:
    """Run in a child process: the peer's scores against the engine's."""
    import polars as pl

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_peer import as_frame, peer_scores

    from healthscore.adapters.dataset_frames import scan_dataset
    from healthscore.domain.batch_engine import score_frames
    from healthscore.services.scoring import load_definition

    result = score_frames(load_definition(DEFINITION), scan_dataset(folder), AS_OF)
    columns = ["id", "score", *result.group_columns]
    ours = result.frame.select(columns)
    theirs = as_frame(peer_scores(folder, AS_OF.date())[0]).select(columns)
    joined = ours.join(theirs, on="id", how="full", suffix="_peer")
    differs = pl.any_horizontal(
        pl.col("id").is_null(),
        pl.col("id_peer").is_null(),
        *(pl.col(c).ne_missing(pl.col(c + "_peer")) for c in columns[1:]),
    )
    return {"records": ours.height, "mismatches": joined.filter(differs).height}


def _child(*args: str) -> dict[str, float]:
    env = {**os.environ, "POLARS_MAX_THREADS": THREADS}
    run = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True, env=env
    )
    return dict(json.loads(run.stdout.splitlines()[-1]))


def cli(folder: Path) -> dict[str, float]:
    """`healthscore score` end to end in its own process; peak RSS from its rusage."""
    out = folder / "scores.parquet"
    env = {**os.environ, "POLARS_MAX_THREADS": THREADS}
    command = [str(Path(sys.executable).parent / "healthscore"), "score", str(folder)]
    command += ["-d", str(DEFINITION), "--as-of", AS_OF.isoformat()]
    command += ["--format", "parquet", "--output", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    _pid, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, errors
    return {"seconds": seconds, "scored": 0, "rss": usage.ru_maxrss / 1024}


def generate(folder: Path, companies: int) -> tuple[float, str]:
    """Generate in a child process, so the measuring processes start from a small parent."""
    elapsed, shape = _child("--generate", str(companies), str(folder)).values()
    return float(elapsed), str(shape)


def generate_here(folder: Path, companies: int) -> dict[str, float | str]:
    from healthscore.dev.bulk_portfolio import generate_bulk_portfolio

    started = time.perf_counter()
    summary = generate_bulk_portfolio(folder, companies, seed=7, until=END)
    elapsed = time.perf_counter() - started
    shape = f"{summary.contacts:,} contacts, {summary.tickets:,} tickets, {summary.events:,} events"
    return {"seconds": elapsed, "shape": shape}


def _spread(values: list[float], unit: str = " s", digits: int = 2) -> str:
    return (
        f"{statistics.median(values):.{digits}f}{unit} "
        f"({min(values):.{digits}f}–{max(values):.{digits}f})"
    )


def compare(folder: Path, companies: int) -> None:
    rounds: dict[str, list[dict[str, float]]] = {"engine": [], "cli": [], "peer": [], "lower": []}
    for _ in range(ROUNDS):
        for what in rounds:
            figures = cli(folder) if what == "cli" else _child("--measure", what, str(folder))
            rounds[what].append(figures)
        assert rounds["engine"][-1]["scored"] == companies
        assert rounds["peer"][-1]["scored"] == companies
    engine = [r["seconds"] for r in rounds["engine"]]
    labels = {
        "engine": "healthscore (load + score, in process)",
        "cli": "healthscore CLI end to end (`score --format parquet`)",
        "peer": "DuckDB SQL peer",
        "lower": "lower bound (events of the 5 types, contact events joined, counted)",
    }
    print(f"\n{companies:,} companies — {ROUNDS} interleaved rounds, 2 threads each")
    print("| what | median (range) | peak RSS |")
    print("| --- | ---: | ---: |")
    for what, figures in rounds.items():
        seconds = [r["seconds"] for r in figures]
        rss = max(r["rss"] for r in figures)
        print(f"| {labels[what]} | {_spread(seconds)} | {rss:,.0f} MB |", flush=True)

    def per_round(numerator: list[float], denominator: str) -> str:
        seconds = [r["seconds"] for r in rounds[denominator]]
        return _spread([n / d for n, d in zip(numerator, seconds, strict=True)], "×")

    cli_seconds = [r["seconds"] for r in rounds["cli"]]
    print(f"engine ÷ peer, per round: {per_round(engine, 'peer')} (goal ≤ 1.0)")
    print(f"engine ÷ lower bound, per round: {per_round(engine, 'lower')} (goal ≤ 1.5)")
    print(f"CLI ÷ engine, per round: {per_round(cli_seconds, 'engine')} (goal ≤ 1.2)")


def main(sizes: list[int]) -> None:
    from healthscore.dev.bulk_portfolio import write_with_repeats

    print(f"Batch engine vs a DuckDB peer, {DEFINITION.name}, as of {AS_OF:%Y-%m-%d %H:%M} UTC")
    with tempfile.TemporaryDirectory() as workdir:
        for companies in sizes:
            folder = Path(workdir) / f"bulk-{companies}"
            generated, shape = generate(folder, companies)
            print(f"\n{companies:,} companies: {shape} (generated in {generated:.0f} s)")
            checked = _child("--check", str(folder))
            print(f"peer = engine: {checked['mismatches']:,} mismatches of {checked['records']:,}")
            assert checked["mismatches"] == 0, "the peer and the engine disagree: not timed"
            if companies == min(sizes):
                repeats = Path(workdir) / f"repeats-{companies}"
                write_with_repeats(folder, repeats)
                checked = _child("--check", str(repeats))
                print(
                    f"with repeated records, events and links: {checked['mismatches']:,} "
                    f"mismatches of {checked['records']:,}"
                )
                assert checked["mismatches"] == 0
            compare(folder, companies)
        folder = Path(workdir) / f"bulk-{SLICE}"
        generate(folder, SLICE)
        reference = _child("--measure", "reference", str(folder))
        engine = _child("--measure", "engine", str(folder))
    print(f"\nReference engine on a {SLICE:,}-company slice (same data, same definition)")
    print("| engine | load + score | per company | peak RSS |")
    print("| --- | ---: | ---: | ---: |")
    for name, figures in (("reference", reference), ("polars", engine)):
        print(
            f"| {name} | {figures['seconds']:.2f} s "
            f"| {figures['seconds'] / SLICE * 1e6:,.1f} µs | {figures['rss']:,.0f} MB |"
        )
    print(f"speed-up ×{reference['seconds'] / engine['seconds']:,.0f} at {SLICE:,} companies")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2], Path(sys.argv[3]))))
    elif sys.argv[1:2] == ["--check"]:
        print(json.dumps(check(Path(sys.argv[2]))))
    elif sys.argv[1:2] == ["--generate"]:
        print(json.dumps(generate_here(Path(sys.argv[3]), int(sys.argv[2]))))
    else:
        main([int(arg) for arg in sys.argv[1:]] or [100_000, 1_000_000])
