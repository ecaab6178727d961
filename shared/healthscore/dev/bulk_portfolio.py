"""A sample portfolio at scale, generated with Polars expressions and written as typed Parquet.

`sample_portfolio` writes a few thousand companies of rich, readable JSONL record by record; this
module writes millions (1,000,000 companies, ~5,000,000 contacts, ~20,000,000 events over 365
days in well under a minute) for benchmarks and recompute rehearsals. Same object model and
trajectories (steady / growing / declining / churning), same property names the pre-defined
groups read, but its own random stream: every value is a hash of (seed, row), so company i is
the same in a portfolio of 10,000 and of 1,000,000 — a slice of the big one is a small one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import polars as pl

from healthscore.dev.sample_catalog import SEGMENTS

TRAJECTORIES = ("steady", "growing", "declining", "churning")
INDUSTRIES = (
    "Software",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Financial services",
    "Education",
    "Media",
    "Logistics",
    "Energy",
    "Hospitality",
)
REGIONS = ("Northeast", "Southeast", "Midwest", "West", "EMEA", "APAC")
CSM_OWNERS = tuple(f"csm-{n:02d}" for n in range(1, 41))
EVENT_TYPES = (
    "meeting_booked",
    "email_replied",
    "sales_email_replied",
    "document_viewed",
    "call_ended",
    "email_opened",
    "page_visited",
    "form_submitted",
)
# Cumulative shares of each event type (per mille), in EVENT_TYPES order.
EVENT_MIX = (70, 190, 260, 360, 480, 740, 950, 1000)
CALL_TYPES = ("Outbound", "Inbound", "Check-in")
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")
MS_PER_DAY = 86_400_000


@dataclass(frozen=True, slots=True)
class BulkSummary:
    companies: int
    contacts: int
    tickets: int
    associations: int
    events: int


def _unit(salt: int, *keys: pl.Expr | str) -> pl.Expr:
    """A uniform number in [0, 1) from the hash of the keys: deterministic, vectorised."""
    hashed = pl.struct(*keys).hash(seed=salt)
    return (hashed % 1_000_003).cast(pl.Float64) / 1_000_003


def _pick(unit: pl.Expr, options: tuple[str, ...]) -> pl.Expr:
    index = (unit * len(options)).floor().cast(pl.Int64).clip(0, len(options) - 1)
    return index.replace_strict(list(range(len(options))), list(options), return_dtype=pl.String)


def _iso_day(end: date, days_before: pl.Expr) -> pl.Expr:
    return (pl.lit(end) - pl.duration(days=days_before)).dt.strftime("%Y-%m-%d")


def generate_bulk_portfolio(
    folder: Path, companies: int, *, seed: int = 7, until: date | None = None
) -> BulkSummary:
    """Write records/associations/events/segments .parquet for `companies` companies."""
    end = until or date.today()
    folder.mkdir(parents=True, exist_ok=True)
    base = seed * 1_000
    company = (
        pl.LazyFrame({"i": pl.int_range(0, companies, dtype=pl.Int64, eager=True)})
        .with_columns(
            pl.format("co-{}", pl.col("i").cast(pl.String).str.zfill(7)).alias("id"),
            _pick(_unit(base + 1, "i"), TRAJECTORIES).alias("trajectory"),
            (10 ** (1 + 3.3 * _unit(base + 2, "i"))).cast(pl.Int64).alias("employees"),
        )
        .with_columns(
            # Declining and churning accounts are quieter, with more open tickets.
            pl.col("trajectory")
            .replace_strict(list(TRAJECTORIES), [26, 32, 14, 8], return_dtype=pl.Int64)
            .alias("activity"),
            pl.col("trajectory")
            .replace_strict(list(TRAJECTORIES), [0.2, 0.1, 0.45, 0.7], return_dtype=pl.Float64)
            .alias("open_rate"),
            (1 + (_unit(base + 3, "i") * 9).floor().cast(pl.Int64)).alias("contacts"),
            ((_unit(base + 4, "i") * 3.2).floor().cast(pl.Int64)).alias("tickets"),
        )
        .collect()
    )
    sentiment_unit = _unit(base + 5, "i")
    sentiment = (
        pl.when(_unit(base + 6, "i") < 0.15)
        .then(None)
        .when(pl.col("trajectory").is_in(["steady", "growing"]))
        .then(_pick(sentiment_unit, ("Positive", "Positive", "Positive", "Neutral", "Negative")))
        .otherwise(_pick(sentiment_unit, ("Positive", "Neutral", "Negative", "Negative")))
    )
    nps_centre = pl.col("trajectory").replace_strict(
        list(TRAJECTORIES), [8.6, 9.2, 6.5, 4.0], return_dtype=pl.Float64
    )
    nps = (nps_centre + (_unit(base + 7, "i") - 0.5) * 5).round(0).clip(0, 10).cast(pl.Int64)
    records_companies = company.select(
        pl.lit("companies").alias("object_type"),
        pl.col("id"),
        pl.struct(
            pl.format("Company {}", pl.col("i")).alias("name"),
            _pick(_unit(base + 8, "i"), INDUSTRIES).alias("industry"),
            _pick(_unit(base + 9, "i"), REGIONS).alias("region"),
            _pick(_unit(base + 10, "i"), CSM_OWNERS).alias("csm_owner"),
            pl.col("employees"),
            pl.when(pl.col("employees") >= 1000)
            .then(pl.lit("Enterprise"))
            .when(pl.col("employees") >= 200)
            .then(pl.lit("Mid-market"))
            .otherwise(pl.lit("SMB"))
            .alias("tier"),
            pl.lit("customer").alias("lifecycle_stage"),
            pl.col("trajectory").alias("engagement_trend"),
            sentiment.alias("csm_sentiment"),
            pl.when(sentiment.is_not_null())
            .then(_iso_day(end, (_unit(base + 11, "i") * 200).cast(pl.Int64)))
            .alias("csm_sentiment_updated"),
            pl.when(_unit(base + 12, "i") < 0.7).then(nps).alias("nps_score"),
            _iso_day(end, (_unit(base + 13, "i") * 2500 + 60).cast(pl.Int64)).alias(
                "customer_since"
            ),
        ).alias("properties"),
        pl.when(_unit(base + 14, "i") < 0.05)
        .then(pl.lit(["list-strategic"]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        .alias("lists"),
    )

    contact = (
        company.lazy()
        .select("i", "id", pl.int_ranges(0, pl.col("contacts")).alias("k"))
        .explode("k")
        .with_columns(pl.format("{}-p{}", pl.col("id"), pl.col("k")).alias("contact_id"))
    )
    role = (
        pl.when(pl.col("k") == 0)
        .then(pl.lit("Decision maker"))
        .when(pl.col("k") == 1)
        .then(pl.lit("Champion"))
        .otherwise(pl.lit("End user"))
    )
    records_contacts = contact.select(
        pl.lit("contacts").alias("object_type"),
        pl.col("contact_id").alias("id"),
        pl.struct(
            role.alias("role"),
            _pick(
                _unit(base + 20, "i", "k"),
                ("CEO", "VP Operations", "Manager", "Analyst", "Engineer"),
            ).alias("jobtitle"),
            pl.lit("customer").alias("lifecyclestage"),
        ).alias("properties"),
        pl.lit([], dtype=pl.List(pl.String)).alias("lists"),
    )
    contact_links = contact.select(
        pl.lit("companies").alias("from_type"),
        pl.col("id").alias("from_id"),
        pl.lit("contacts").alias("to_type"),
        pl.col("contact_id").alias("to_id"),
        pl.when(pl.col("k") < 2)
        .then(pl.concat_list(role))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        .alias("labels"),
    )

    ticket = (
        company.lazy()
        .filter(pl.col("tickets") > 0)
        .select("i", "id", "open_rate", pl.int_ranges(0, pl.col("tickets")).alias("k"))
        .explode("k")
        .with_columns(pl.format("{}-t{}", pl.col("id"), pl.col("k")).alias("ticket_id"))
    )
    records_tickets = ticket.select(
        pl.lit("tickets").alias("object_type"),
        pl.col("ticket_id").alias("id"),
        pl.struct(
            pl.when(_unit(base + 30, "i", "k") < pl.col("open_rate"))
            .then(_pick(_unit(base + 31, "i", "k"), ("new", "waiting", "in progress")))
            .otherwise(pl.lit("closed"))
            .alias("status"),
            _pick(_unit(base + 32, "i", "k"), PRIORITIES).alias("priority"),
        ).alias("properties"),
        pl.lit([], dtype=pl.List(pl.String)).alias("lists"),
    )
    ticket_links = ticket.select(
        pl.lit("companies").alias("from_type"),
        pl.col("id").alias("from_id"),
        pl.lit("tickets").alias("to_type"),
        pl.col("ticket_id").alias("to_id"),
        pl.lit([], dtype=pl.List(pl.String)).alias("labels"),
    )

    records = pl.concat(
        [records_companies.lazy(), records_contacts, records_tickets], how="diagonal_relaxed"
    )
    records.sink_parquet(folder / "records.parquet")
    pl.concat([contact_links, ticket_links]).sink_parquet(folder / "associations.parquet")

    # Events: `activity` per company on average (20 overall), 75% by one of its contacts;
    # growing accounts' events are recent, churning ones' mostly old.
    end_ms = int(datetime.combine(end, time()).timestamp() * 1000) + MS_PER_DAY - 1
    event = (
        company.lazy()
        .select(
            "i",
            "id",
            "trajectory",
            "contacts",
            pl.int_ranges(0, pl.col("activity")).alias("n"),
        )
        .explode("n")
        .with_columns(
            _unit(base + 40, "i", "n").alias("u_owner"),
            _unit(base + 41, "i", "n").alias("u_type"),
            _unit(base + 42, "i", "n").alias("u_age"),
            _unit(base + 43, "i", "n").alias("u_prop"),
        )
    )
    mix = pl.lit(len(EVENT_TYPES) - 1)
    for index, edge in reversed(list(enumerate(EVENT_MIX))):
        mix = pl.when(pl.col("u_type") * 1000 < edge).then(pl.lit(index)).otherwise(mix)
    age = (
        (
            pl.when(pl.col("trajectory") == "growing")
            .then(pl.col("u_age").pow(2))
            .when(pl.col("trajectory") == "churning")
            .then(pl.col("u_age").sqrt())
            .otherwise(pl.col("u_age"))
            * 365
        )
        .floor()
        .cast(pl.Int64)
    )
    event_type = mix.replace_strict(
        list(range(len(EVENT_TYPES))), list(EVENT_TYPES), return_dtype=pl.String
    )
    by_contact = pl.col("u_owner") < 0.75
    contact_k = (pl.col("u_owner") / 0.75 * pl.col("contacts")).floor().cast(pl.Int64)
    is_call = event_type == "call_ended"
    events = event.select(
        pl.format("ev-{}-{}", pl.col("i"), pl.col("n")).alias("id"),
        event_type.alias("type"),
        (pl.lit(end_ms) - age * MS_PER_DAY - (pl.col("u_prop") * 80_000_000).cast(pl.Int64)).alias(
            "occurred_at"
        ),
        pl.when(by_contact)
        .then(pl.lit("contacts"))
        .otherwise(pl.lit("companies"))
        .alias("object_type"),
        pl.when(by_contact)
        .then(pl.format("{}-p{}", pl.col("id"), contact_k))
        .otherwise(pl.col("id"))
        .alias("object_id"),
        pl.struct(
            pl.when(is_call & (pl.col("u_prop") < 0.9))
            .then(_pick(pl.col("u_prop") / 0.9, CALL_TYPES))
            .alias("call_type"),
            pl.when(is_call)
            .then((pl.col("u_prop") * 3000 + 60).cast(pl.Int64))
            .alias("duration_seconds"),
        ).alias("properties"),
    )
    events.sink_parquet(folder / "events.parquet")

    pl.DataFrame(
        {
            "id": [s["id"] for s in SEGMENTS],
            "name": [s["name"] for s in SEGMENTS],
            "object_type": [s["object_type"] for s in SEGMENTS],
            "conditions": [json.dumps(s.get("conditions", [])) for s in SEGMENTS],
            "lists": [list(s.get("lists", [])) for s in SEGMENTS],
        }
    ).write_parquet(folder / "segments.parquet")

    counts = {
        name: pl.scan_parquet(folder / f"{name}.parquet").select(pl.len()).collect().item()
        for name in ("records", "associations", "events")
    }
    contacts = int(company["contacts"].sum())
    tickets = int(company["tickets"].sum())
    assert counts["records"] == companies + contacts + tickets
    return BulkSummary(companies, contacts, tickets, counts["associations"], counts["events"])


def write_with_repeats(
    folder: Path, out: Path, *, every: int = 50, shadow_every: int | None = None
) -> None:
    """A copy of a bulk portfolio with repeated lines of every kind appended: every `every`-th
    company again with another NPS answer (the last line wins), every `every`-th event again
    (the first wins), every `every`-th contact link again labelled Champion (a pair's labels
    are the union). With `shadow_every`, every such meeting is preceded by a page visit with
    the same key (that first line wins: the meeting does not count)."""
    out.mkdir(parents=True, exist_ok=True)
    records = pl.read_parquet(folder / "records.parquet")
    again = records.filter(pl.col("object_type") == "companies").gather_every(every)
    nps = pl.col("properties").struct.field("nps_score")
    again = again.with_columns(
        pl.col("properties").struct.with_fields(((nps.fill_null(5) + 3) % 11).alias("nps_score"))
    )
    pl.concat([records, again]).write_parquet(out / "records.parquet")
    events = pl.read_parquet(folder / "events.parquet")
    shadowed = (
        events.filter(pl.col("type") == "meeting_booked")
        .gather_every(shadow_every)
        .with_columns(pl.lit("page_visited").alias("type"))
        if shadow_every
        else events.clear()
    )
    pl.concat([shadowed, events, events.gather_every(every)]).write_parquet(out / "events.parquet")
    links = pl.read_parquet(folder / "associations.parquet")
    relabelled = (
        links.filter(pl.col("to_type") == "contacts")
        .gather_every(every)
        .with_columns(pl.lit(["Champion"]).alias("labels"))
    )
    pl.concat([links, relabelled]).write_parquet(out / "associations.parquet")
    (out / "segments.parquet").write_bytes((folder / "segments.parquet").read_bytes())
