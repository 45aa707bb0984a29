"""Reference probe: raw PostgreSQL speed on this machine, measured in the same run.

1,000,000 synthetic usage-event rows are COPYed into an indexed table shaped like the
product's event table, then aggregated with one ``GROUP BY customer``. Later
benchmarks report their figures as ratios to these two.
"""

import io

import numpy as np
import psycopg

from bench.core import Context, Result, stopwatch

ORDER = 0
ROWS = 1_000_000
CUSTOMERS = 10_000
OPERATIONS = 40

DDL = """
DROP TABLE IF EXISTS bench_raw_events;
CREATE TABLE bench_raw_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id TEXT NOT NULL,
    customer_id BIGINT NOT NULL,
    operation TEXT NOT NULL,
    quantity NUMERIC(20, 6) NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX bench_raw_events_customer_time
    ON bench_raw_events (customer_id, occurred_at);
"""


def synthetic_csv(rows: int, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    customers = rng.integers(1, CUSTOMERS + 1, rows)
    operations = rng.integers(0, OPERATIONS, rows)
    quantities = rng.integers(1, 1000, rows)
    seconds = np.sort(rng.integers(0, 30 * 86_400, rows))
    base = np.datetime64("2026-10-01T00:00:00")
    stamps = (base + seconds.astype("timedelta64[s]")).astype(str)
    lines = [
        f"evt-{i}\t{c}\top.{o}\t{q}\t{t}+00\n"
        for i, (c, o, q, t) in enumerate(
            zip(customers, operations, quantities, stamps, strict=True)
        )
    ]
    return "".join(lines).encode()


def run(ctx: Context) -> list[Result]:
    rows = ctx.scaled(ROWS)
    payload = synthetic_csv(rows)
    with psycopg.connect(ctx.database_url, autocommit=True) as conn:
        conn.execute(DDL)
        with stopwatch() as copy_time:
            with conn.cursor() as cursor:
                with cursor.copy(
                    "COPY bench_raw_events (event_id, customer_id, operation, "
                    "quantity, occurred_at) FROM STDIN"
                ) as copy:
                    buffer = io.BytesIO(payload)
                    while chunk := buffer.read(1 << 20):
                        copy.write(chunk)
    ctx.settle("bench_raw_events")
    with psycopg.connect(ctx.database_url, autocommit=True) as conn:
        with stopwatch() as group_time:
            groups = conn.execute(
                "SELECT customer_id, count(*), sum(quantity) "
                "FROM bench_raw_events GROUP BY customer_id"
            ).fetchall()
    copy_rate = rows / copy_time["seconds"]
    ctx.reference.update(
        copy_rows_per_s=copy_rate,
        group_by_seconds=group_time["seconds"],
        rows=rows,
    )
    return [
        Result(
            "reference: raw COPY of usage events",
            copy_rate,
            "rows/s",
            note=f"{rows:,} rows into an indexed table",
        ),
        Result(
            "reference: raw GROUP BY customer",
            group_time["seconds"],
            "s",
            better="lower",
            note=f"{len(groups):,} customers over {rows:,} rows",
        ),
    ]
