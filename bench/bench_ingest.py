"""Usage event ingestion through the real HTTP batch endpoint.

gunicorn (2 sync workers) serves the project on loopback against the
benchmark's PostgreSQL; client threads POST pre-encoded batches of 1,000 and of
10,000 events (half of the 1,000,000 events each) to ``/api/v1/events/batch/``,
customers and operations drawn uniformly. The rate is compared with the reference
probe's raw COPY rate measured in the same run. Then the same two runs with a
quarter of the events each, customers and operations Zipf-distributed as real
traffic is (a batch then touches fewer counters). Afterwards the p50/p95 latency of
single-event POSTs is measured, the stored event count and the month counters
(folded counters plus pending increments) are checked against what was sent, and
the folding of all the increments into the counters is timed. Each note gives the
load average when its run started: other work on the machine slows every figure.
"""

import http.client
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from bench.core import Context, Result, stopwatch

ORDER = 20
EVENTS = 1_000_000
BATCH_SIZES = (1_000, 10_000)
CUSTOMERS = 1_000
OPERATIONS = [
    f"{area}.{verb}"
    for area in ("image", "video", "pdf", "audio", "search")
    for verb in ("resize", "convert", "analyse", "export", "index", "store")
]
SERVER_WORKERS = 2
# Threads per worker. Two per worker (four batches in flight) measured no better:
# concurrent batches wait for each other's locks on the same counter rows.
SERVER_THREADS = 1
CLIENT_THREADS = 3
ZIPF_EXPONENT = 1.1
SINGLE_POSTS = 300
BASE_DIR = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _setup_organization() -> tuple[object, str]:
    from metering.models import Customer, Organization
    from metering.services import api_key_create

    slug = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    organization = Organization.objects.create(slug=slug, name="Ingestion benchmark")
    Customer.objects.bulk_create(
        [
            Customer(organization=organization, external_id=f"c{n}", name=f"C {n}")
            for n in range(CUSTOMERS)
        ]
    )
    return organization, api_key_create(organization=organization).raw_key


def _start_gunicorn(
    ctx: Context, port: int, *, threads: int = SERVER_THREADS
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": ctx.database_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on loopback: no redirect to HTTPS.
        "SECURE_SSL_REDIRECT": "false",
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "billing_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(SERVER_WORKERS),
            "--threads",
            str(threads),
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def _zipf_weights(count: int, exponent: float = ZIPF_EXPONENT) -> list[float]:
    """Cumulative weights of ranks 1..count under a Zipf law (rank r ~ 1/r^s)."""
    total, cumulative = 0.0, []
    for rank in range(1, count + 1):
        total += 1 / rank**exponent
        cumulative.append(total)
    return cumulative


def _batches(
    prefix: str, total: int, size: int, start: datetime, *, skewed: bool = False
) -> list[bytes]:
    """Request bodies of ``size`` events each. Customers and operations are drawn
    uniformly, or Zipf-distributed when ``skewed`` (as real traffic is: a few big
    customers and a few hot operations)."""
    rng = random.Random(prefix)
    customers = [f"c{n}" for n in range(CUSTOMERS)]
    customer_weights = _zipf_weights(CUSTOMERS) if skewed else None
    operation_weights = _zipf_weights(len(OPERATIONS)) if skewed else None
    bodies = []
    for first in range(0, total, size):
        count = min(size, total - first)
        batch_customers = rng.choices(customers, cum_weights=customer_weights, k=count)
        batch_operations = rng.choices(
            OPERATIONS, cum_weights=operation_weights, k=count
        )
        events = [
            {
                "event_id": f"{prefix}-{n}",
                "customer_id": batch_customers[n - first],
                "operation": batch_operations[n - first],
                "quantity": rng.randint(1, 50),
                "occurred_at": (start + timedelta(seconds=n % 86_400)).isoformat(),
                "user_id": f"u{rng.randrange(20)}",
                "properties": {"width": rng.randint(100, 4000), "format": "png"},
            }
            for n in range(first, min(first + size, total))
        ]
        bodies.append(orjson.dumps({"events": events}))
    return bodies


def _post(port: int, headers: dict, path: str, body: bytes) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.status >= 300:
        raise RuntimeError(f"{path}: HTTP {response.status}: {payload[:300]!r}")
    return orjson.loads(payload)


def run(ctx: Context) -> list[Result]:
    from django.db.models import Sum

    from metering.models import UsageCounterTotal, UsageEvent
    from metering.services import usage_counters_fold

    organization, raw_key = _setup_organization()
    headers = {
        "Authorization": f"Api-Key {raw_key}",
        "Content-Type": "application/json",
    }
    total = ctx.scaled(EVENTS)
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    port = _free_port()
    server = _start_gunicorn(ctx, port)
    results = []
    sent = 0
    try:
        server_label = f"gunicorn {SERVER_WORKERS} workers" + (
            f" x {SERVER_THREADS} threads" if SERVER_THREADS > 1 else ""
        )
        runs = [(size, total // len(BATCH_SIZES), False) for size in BATCH_SIZES]
        runs += [(size, total // 4, True) for size in BATCH_SIZES]
        for size, wanted, skewed in runs:
            count = max(size, wanted)
            workload = "Zipf-skewed" if skewed else "uniform"
            bodies = _batches(f"{workload}-{size}", count, size, start, skewed=skewed)
            load = os.getloadavg()[0]
            with stopwatch() as timing, ThreadPoolExecutor(CLIENT_THREADS) as pool:
                answers = list(
                    pool.map(
                        lambda body: _post(
                            port, headers, "/api/v1/events/batch/", body
                        ),
                        bodies,
                    )
                )
            accepted = sum(answer["accepted"] for answer in answers)
            if accepted != count:
                raise RuntimeError(f"{count} events sent, {accepted} accepted")
            sent += count
            results.append(
                Result(
                    f"ingest: HTTP batches of {size:,}"
                    + (", Zipf-skewed" if skewed else ""),
                    count / timing["seconds"],
                    "events/s",
                    reference=ctx.reference.get("copy_rows_per_s"),
                    reference_name="raw COPY",
                    note=(
                        f"{count:,} events, {workload} customers and operations, "
                        f"{server_label}, {CLIENT_THREADS} client threads, "
                        f"load average {load:.1f} at start"
                        + ("" if skewed else "; goal ratio >= 0.25")
                    ),
                )
            )
        latencies = []
        for n in range(ctx.scaled(SINGLE_POSTS)):
            body = orjson.dumps(
                {
                    "event_id": f"single-{n}",
                    "customer_id": f"c{n % CUSTOMERS}",
                    "operation": "image.resize",
                    "occurred_at": start.isoformat(),
                }
            )
            began = time.perf_counter()
            _post(port, headers, "/api/v1/events/", body)
            latencies.append((time.perf_counter() - began) * 1000)
        sent += len(latencies)
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    stored = UsageEvent.objects.filter(organization=organization).count()

    def counted() -> int:
        return UsageCounterTotal.objects.filter(organization=organization).aggregate(
            events=Sum("event_count")
        )["events"]

    before_fold = counted()
    with stopwatch() as fold_time:
        folded = usage_counters_fold()
    if not stored == before_fold == counted() == sent:
        raise RuntimeError(f"sent {sent}, stored {stored}, counters say {counted()}")
    for label, quantile in (("p50", 0.50), ("p95", 0.95)):
        results.append(
            Result(
                f"ingest: single-event POST latency {label}",
                latencies[min(len(latencies) - 1, int(len(latencies) * quantile))],
                "ms",
                better="lower",
                note=f"{len(latencies)} sequential POSTs, new connection each",
            )
        )
    results[-1].note += f"; stored {stored:,} = counters {before_fold:,} = sent"
    results.append(
        Result(
            "ingest: fold the runs' counter increments",
            fold_time["seconds"],
            "s",
            better="lower",
            note=(
                f"{folded:,} increments appended by the runs above, added into their "
                "counters in one go (the beat task does this every minute)"
            ),
        )
    )
    return results
