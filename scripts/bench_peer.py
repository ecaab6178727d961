"""The benchmark's peer: docs/examples/portfolio-benchmark.json hand-written in DuckDB SQL.

A straightforward SQL implementation of that one definition over the bulk portfolio's Parquet
folder (scripts/bench.py): the scores it computes are checked equal to the Polars engine's,
record by record and group by group, before either is timed, so the comparison is between two
programs that do the same work. It knows nothing the engine does not: the last line of each
record, the first of each event, each (company, contact) pair once with the union of its
lines' labels, hundredths of points, half-up rounding, the same day arithmetic. Unlike the
engine it is written for this definition only, and assumes repeated event lines are copies
(it drops repeats after keeping the event types the definition reads).

DuckDB is a bench and dev dependency only; nothing in healthscore imports it.

Also here: the *lower bound* the issue measures the engine against — read the events, keep the
five types the definition uses, join contact events to their companies, count per company and
type — the work any implementation has to do before it scores anything.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

EPOCH = date(1970, 1, 1)

# The engagement group decays 15% every 30 days; a rule's points are hundredths × factor.
SCORES_SQL = """
WITH
-- Repeated lines are found on a 64-bit hash of their key, and only those are compared on the
-- key itself: most datasets have none, and grouping 20M string keys is most of a naive run.
record_lines AS (
    SELECT object_type, id, properties, file_row_number AS line,
           hash(object_type, id) AS h
    FROM read_parquet('{folder}/records.parquet', file_row_number = true)
    WHERE object_type IN ('companies', 'tickets')
),
repeated_records AS (SELECT h FROM record_lines GROUP BY h HAVING count(*) > 1),
records AS (
    SELECT object_type, id, properties FROM record_lines ANTI JOIN repeated_records USING (h)
    UNION ALL
    SELECT object_type, id, properties FROM record_lines SEMI JOIN repeated_records USING (h)
    QUALIFY row_number() OVER (PARTITION BY object_type, id ORDER BY line DESC) = 1
),
scope AS (
    SELECT id AS k, id, properties AS p FROM records WHERE object_type = 'companies'
),
lines AS (
    SELECT from_id AS a_id, to_type AS b_type, to_id AS b_id, labels
    FROM read_parquet('{folder}/associations.parquet')
    WHERE from_type = 'companies' AND to_type IN ('contacts', 'tickets')
    UNION ALL
    SELECT to_id, from_type, from_id, labels
    FROM read_parquet('{folder}/associations.parquet')
    WHERE to_type = 'companies' AND from_type IN ('contacts', 'tickets')
),
labelled AS (
    SELECT s.k, l.b_type, l.b_id, hash(s.k, l.b_type, l.b_id) AS h,
           list_has_any(list_transform(coalesce(l.labels, []), lambda x: lower(x)),
                        ['decision maker', 'champion']) AS key_person
    FROM lines l JOIN scope s ON s.id = l.a_id
),
repeated_pairs AS (SELECT h FROM labelled GROUP BY h HAVING count(*) > 1),
pairs AS (
    SELECT k, b_type, b_id, key_person FROM labelled ANTI JOIN repeated_pairs USING (h)
    UNION ALL
    SELECT k, b_type, b_id, bool_or(key_person)
    FROM labelled SEMI JOIN repeated_pairs USING (h)
    GROUP BY k, b_type, b_id
),
event_lines AS (
    SELECT type, (occurred_at // 86400000)::INTEGER AS day, object_type, object_id,
           properties.call_type AS call_type, properties.duration_seconds AS duration,
           file_row_number AS line, hash(object_type, object_id, id) AS h, id
    FROM read_parquet('{folder}/events.parquet', file_row_number = true)
    WHERE type IN ('meeting_booked', 'email_replied', 'sales_email_replied',
                   'document_viewed', 'call_ended')
),
repeated_events AS (SELECT h FROM event_lines GROUP BY h HAVING count(*) > 1),
events AS (
    SELECT type, day, object_type, object_id, call_type, duration
    FROM event_lines ANTI JOIN repeated_events USING (h)
    UNION ALL
    SELECT type, day, object_type, object_id, call_type, duration
    FROM event_lines SEMI JOIN repeated_events USING (h)
    QUALIFY row_number() OVER (PARTITION BY object_type, object_id, id ORDER BY line) = 1
),
scored_events AS (
    SELECT s.k, true AS key_person, e.*
    FROM events e JOIN scope s ON e.object_type = 'companies' AND e.object_id = s.id
    UNION ALL
    SELECT p.k, p.key_person, e.*
    FROM events e JOIN pairs p
      ON e.object_type = 'contacts' AND p.b_type = 'contacts' AND e.object_id = p.b_id
),
aged AS (
    SELECT k, type, key_person, call_type, duration, {today} - day AS age,
           greatest(100 - (({today} - day) // 30) * 15, 0) AS factor
    FROM scored_events
    WHERE day <= {today}
),
engagement AS (
    SELECT k,
        least(coalesce(sum(10 * factor) FILTER (type = 'meeting_booked' AND key_person), 0), 3000)
      + least(coalesce(sum(5 * factor) FILTER (type = 'email_replied'), 0), 1500)
      + least(coalesce(sum(5 * factor) FILTER (type = 'sales_email_replied'), 0), 1000)
      + least(coalesce(sum(3 * factor) FILTER (type = 'document_viewed'), 0), 900)
        AS engagement_raw,
        least(1000 * count(*) FILTER (type = 'call_ended' AND age < 180
              AND call_type IS NOT NULL AND call_type <> '' AND duration > 900), 2000)
      + CASE WHEN count(*) FILTER (type = 'call_ended' AND age < 180) >= 3 THEN 500 ELSE 0 END
        AS calls_raw
    FROM aged
    WHERE factor > 0 OR type = 'call_ended'
    GROUP BY k
),
tickets AS (
    SELECT p.k,
        count(*) AS open_tickets,
        count(*) FILTER (upper(r.properties.priority) IN ('HIGH', 'URGENT')) AS open_high,
        count(*) FILTER (upper(r.properties.priority) IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT'))
            AS rated,
        sum(CASE upper(r.properties.priority) WHEN 'LOW' THEN -100 WHEN 'MEDIUM' THEN -200
            WHEN 'HIGH' THEN -600 WHEN 'URGENT' THEN -1000 ELSE 0 END) AS severity_total
    FROM pairs p JOIN records r ON r.object_type = 'tickets' AND r.id = p.b_id
    WHERE p.b_type = 'tickets'
      AND (r.properties.status IS NULL OR lower(r.properties.status) <> 'closed')
    GROUP BY p.k
),
groups AS (
    SELECT s.id,
        least(greatest(coalesce(e.engagement_raw, 0), -4000), 4000) AS g0,
        least(greatest(coalesce(e.calls_raw, 0), -2000), 2000) AS g1,
        least(greatest(greatest(-500 * coalesce(t.open_tickets, 0), -2000)
                       + greatest(-1000 * coalesce(t.open_high, 0), -2000), -3000), 3000) AS g2,
        least(greatest(
            CASE lower(s.p.csm_sentiment) WHEN 'positive' THEN 1500 WHEN 'neutral' THEN 500
                WHEN 'negative' THEN -1500 ELSE 0 END
          + CASE WHEN {today} - date_diff('day', DATE '1970-01-01',
                     try_cast(s.p.csm_sentiment_updated AS DATE)) BETWEEN 0 AND 89
                 THEN 500 ELSE 0 END, -2000), 2000) AS g3,
        least(greatest(
            CASE WHEN s.p.nps_score >= 9 THEN 2000 ELSE 0 END
          + CASE WHEN s.p.nps_score BETWEEN 7 AND 8 THEN 500 ELSE 0 END
          + CASE WHEN s.p.nps_score <= 6 THEN -1500 ELSE 0 END, -2000), 2000) AS g4,
        least(greatest(CASE WHEN coalesce(t.rated, 0) = 0 THEN 0
                            ELSE -((2 * abs(t.severity_total) + t.rated) // (2 * t.rated)) END,
                       -1000), 1000) AS g5
    FROM scope s
    LEFT JOIN engagement e ON e.k = s.k
    LEFT JOIN tickets t ON t.k = s.k
)
SELECT id,
    least(greatest(CASE WHEN g0 + g1 + g2 + g3 + g4 + g5 < 0
                        THEN -((2 * abs(g0 + g1 + g2 + g3 + g4 + g5) + 100) // 200)
                        ELSE (2 * (g0 + g1 + g2 + g3 + g4 + g5) + 100) // 200 END, 0), 100)
        AS score,
    g0, g1, g2, g3, g4, g5
FROM groups
ORDER BY id
"""

LOWER_BOUND_SQL = """
WITH
events AS (
    SELECT type, object_type, object_id
    FROM read_parquet('{folder}/events.parquet')
    WHERE type IN ('meeting_booked', 'email_replied', 'sales_email_replied',
                   'document_viewed', 'call_ended')
),
links AS (
    SELECT from_id AS company, to_id AS contact
    FROM read_parquet('{folder}/associations.parquet')
    WHERE from_type = 'companies' AND to_type = 'contacts'
)
SELECT company, type, count(*) AS n
FROM (
    SELECT object_id AS company, type FROM events WHERE object_type = 'companies'
    UNION ALL
    SELECT l.company, e.type
    FROM events e JOIN links l ON e.object_type = 'contacts' AND e.object_id = l.contact
)
GROUP BY company, type
"""


def connect(threads: int = 2) -> Any:
    import duckdb

    connection = duckdb.connect()
    connection.execute(f"SET threads = {threads}")
    return connection


def peer_scores(folder: Path, today: date, threads: int = 2) -> tuple[Any, int]:
    """Compute the peer's scores into a DuckDB table (what is timed: the result in memory, as
    the engine's frame is). Returns the connection holding `scores` and its row count."""
    connection = connect(threads)
    sql = SCORES_SQL.format(folder=folder, today=(today - EPOCH).days)
    connection.execute(f"CREATE TEMP TABLE scores AS {sql}")
    return connection, int(connection.execute("SELECT count(*) FROM scores").fetchone()[0])


def as_frame(connection: Any) -> Any:
    """The `scores` table as a Polars frame: id, score, g0–g5 (group hundredths)."""
    import polars as pl

    columns = connection.execute("SELECT * FROM scores ORDER BY id").fetchnumpy()
    return pl.DataFrame(dict(columns)).with_columns(pl.exclude("id").cast(pl.Int64))


def lower_bound(folder: Path, threads: int = 2) -> int:
    """Rows of (company, type, count): the floor any engine has to do; returns the row count."""
    connection = connect(threads)
    connection.execute(f"CREATE TEMP TABLE counts AS {LOWER_BOUND_SQL.format(folder=folder)}")
    return int(connection.execute("SELECT count(*) FROM counts").fetchone()[0])
