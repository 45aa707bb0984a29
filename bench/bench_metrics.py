"""Billable metrics: one month's usage of 10,000 customers over 2,000,000 events,
read through metering's usage read model for each aggregation.

Events (40 operations, end users named on 95 percent of them) are COPYed into the
event table and the month's counters written as ingestion maintains them, as in the
invoicing benchmark. Then, for each aggregation in turn, every operation is given
that metric and ``metering.selectors.usage_by_customer`` reads the whole month
(every customer and operation, as invoicing does), checked against and compared
with a raw SQL aggregate of the same kind over the month's events, measured in the
same run with every row fetched. The read model and its references take turns
three times; each figure is its best run.

Sums and counts come from the counters, so their ratio shows what the counters
save over an event scan; max, unique count and latest are event aggregates, and
their ratio is the read model's cost over the bare statement.
"""

import io
import time
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import psycopg
from django.db import connection

from bench.core import Context, Result, stopwatch
from bench.fixtures import customers_create

ORDER = 75
CUSTOMERS = 10_000
EVENTS = 2_000_000
OPERATIONS = 40
END_USERS = 50  # per customer, at most
MONTH_START = datetime(2026, 10, 1, tzinfo=UTC)
MONTH_END = datetime(2026, 11, 1, tzinfo=UTC)
RUNS = 3

_WHERE = (
    "FROM metering_usageevent WHERE organization_id = %s "
    "AND occurred_at >= %s AND occurred_at < %s"
)
# The same figures as the read model's, each in one bare statement over the
# month's events: (aggregation, SQL giving (customer id, operation, units)).
REFERENCES = {
    "sum": f"SELECT customer_id, operation, sum(quantity) {_WHERE} GROUP BY 1, 2",
    "count": f"SELECT customer_id, operation, count(*) {_WHERE} GROUP BY 1, 2",
    "max": f"SELECT customer_id, operation, max(quantity) {_WHERE} GROUP BY 1, 2",
    "unique_count": (
        "SELECT customer_id, operation, count(DISTINCT nullif(user_id, '')) "
        f"{_WHERE} GROUP BY 1, 2"
    ),
    "latest": (
        "SELECT DISTINCT ON (customer_id, operation) customer_id, operation, "
        f"quantity {_WHERE} ORDER BY customer_id, operation, occurred_at DESC, id DESC"
    ),
}


# The bare read of a month's counters and pending increments, every row fetched:
# the floor of the read model's sums and counts.
COUNTERS_SQL = (
    "SELECT customer_id, operation, quantity FROM metering_usagecounter "
    "WHERE organization_id = %s AND period_start = %s UNION ALL "
    "SELECT customer_id, operation, quantity FROM metering_usagecounterincrement "
    "WHERE organization_id = %s AND period_start = %s"
)


def _setup(ctx: Context):
    from metering.models import Operation, Organization

    customers_n = ctx.scaled(CUSTOMERS)
    events_n = ctx.scaled(EVENTS)
    organization = Organization.objects.create(
        slug=f"bench-metrics-{time.time_ns()}", name="Bench metrics"
    )
    customer_ids = customers_create(organization=organization, count=customers_n)
    codes = np.array([f"metric.{i}" for i in range(OPERATIONS)])
    Operation.objects.bulk_create(
        Operation(organization=organization, code=code, name=code) for code in codes
    )
    rng = np.random.default_rng(17)
    chosen_customers = customer_ids[rng.integers(0, len(customer_ids), events_n)]
    chosen_codes = codes[rng.integers(0, len(codes), events_n)]
    quantities = rng.integers(1, 1000, events_n)
    users = rng.integers(0, END_USERS, events_n)
    named = rng.random(events_n) >= 0.05
    seconds = rng.integers(0, 31 * 86_400, events_n)
    stamps = (
        np.datetime64("2026-10-01T00:00:00") + seconds.astype("timedelta64[s]")
    ).astype(str)
    received = "2026-11-01T00:00:00+00"
    payload = "".join(
        f"{organization.pk}\t{c}\tm{i}\t{o}\t{f'u{u}' if n else ''}\t{q}\t{t}+00\t"
        f"{received}\n"
        for i, (c, o, u, n, q, t) in enumerate(
            zip(
                chosen_customers,
                chosen_codes,
                users,
                named,
                quantities,
                stamps,
                strict=True,
            )
        )
    ).encode()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY metering_usageevent (organization_id, customer_id, event_id, "
            "operation, user_id, quantity, occurred_at, received_at) FROM STDIN"
        ) as copy:
            buffer = io.BytesIO(payload)
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        cursor.execute(
            "INSERT INTO metering_usagecounter (organization_id, customer_id, "
            "operation, period_start, quantity, event_count) "
            "SELECT organization_id, customer_id, operation, %s, sum(quantity), "
            f"count(*) {_WHERE} GROUP BY organization_id, customer_id, operation",
            [MONTH_START.date(), organization.pk, MONTH_START, MONTH_END],
        )
    return organization, customers_n, events_n


def _bare(ctx: Context, sql: str, params: list) -> tuple[float, list]:
    """Seconds of a bare statement on a connection of its own (rows fetched),
    and its rows."""
    with psycopg.connect(ctx.database_url, autocommit=True) as conn:
        with stopwatch() as timing:
            rows = conn.execute(sql, params).fetchall()
    return timing["seconds"], rows


def _as_usage(rows) -> dict[int, dict[str, Decimal]]:
    """Customer id -> {operation: units} of a reference's rows."""
    usage: dict[int, dict[str, Decimal]] = {}
    for customer_id, operation, units in rows:
        if units:  # the read model leaves out what a metric counts as nothing
            usage.setdefault(customer_id, {})[operation] = Decimal(units)
    return usage


def _read_model(organization) -> tuple[float, dict]:
    """Seconds of the read model's month, and its non-zero figures."""
    from metering import selectors

    with stopwatch() as timing:
        usage = selectors.usage_by_customer(
            organization=organization, start=MONTH_START, end=MONTH_END
        )
    return timing["seconds"], {
        customer_id: {code: units for code, units in of_customer.items() if units}
        for customer_id, of_customer in usage.items()
    }


def _best_of_runs(ctx: Context, organization, references: list) -> list[tuple]:
    """The read model's month and each ``(sql, params)`` reference, taking turns
    ``RUNS`` times (so a busy moment of the machine hits both): for each, the
    best seconds and its figures (the read model's first)."""
    timings = [[] for _ in range(1 + len(references))]
    figures: list = [None] * len(timings)
    for _ in range(RUNS):
        seconds, figures[0] = _read_model(organization)
        timings[0].append(seconds)
        for index, (sql, params) in enumerate(references, start=1):
            seconds, rows = _bare(ctx, sql, params)
            timings[index].append(seconds)
            figures[index] = rows
    return [(min(t), f) for t, f in zip(timings, figures, strict=True)]


def run(ctx: Context) -> list[Result]:
    from metering.models import Operation

    organization, customers_n, events_n = _setup(ctx)
    ctx.settle("metering_usageevent", "metering_usagecounter", "metering_operation")
    scope = f"{customers_n:,} customers, {events_n:,} events, {OPERATIONS} operations"
    results = []
    for aggregation in REFERENCES:
        Operation.objects.filter(organization=organization).update(
            aggregation=aggregation,
            aggregation_property="user_id" if aggregation == "unique_count" else "",
        )
        window = [organization.pk, MONTH_START, MONTH_END]
        references = [(REFERENCES[aggregation], window)]
        if aggregation == "sum":
            references.append((COUNTERS_SQL, [organization.pk, MONTH_START.date()] * 2))
        (figure, usage), (reference, rows), *floor = _best_of_runs(
            ctx, organization, references
        )
        source = "counters" if aggregation in ("sum", "count") else "events"
        if floor:
            results.append(
                Result(
                    "metrics: a month's usage, sum, over the counters' read",
                    figure,
                    "s",
                    reference=floor[0][0],
                    reference_name="raw read of the counters",
                    better="lower",
                    note=f"{scope}; the read model's cost over fetching its rows",
                )
            )
        results.append(
            Result(
                f"metrics: a month's usage, {aggregation}",
                figure,
                "s",
                reference=reference,
                reference_name=f"raw SQL {aggregation} of the events",
                better="lower",
                note=(
                    f"{scope}; read from the {source}; "
                    f"{'equal to' if usage == _as_usage(rows) else 'DIFFERS FROM'} the "
                    "reference's figures"
                ),
            )
        )
    return results
