"""The benchmark harness: results, the table, and the shared context.

A benchmark module ``bench/bench_<name>.py`` defines ``ORDER`` (an int; lower runs
first) and ``run(ctx: Context) -> list[Result]``. The reference probe (order 0) fills
``ctx.reference`` with raw PostgreSQL figures that later benchmarks compare against;
a benchmark may instead measure the physical floor of its own work (``of_floor``).
Either way every ratio is measured in the same run on the same machine.
"""

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Result:
    name: str
    figure: float
    unit: str
    # The reference figure measured in the same run, and what it is.
    reference: float | None = None
    reference_name: str = ""
    # "higher" when a bigger figure is better (rates), "lower" for durations.
    better: str = "higher"
    note: str = ""
    # The reference is the physical floor of the same work (the least the database
    # takes for it, measured in the same run): the ratio is then figure / floor,
    # how many times the floor the figure takes, and lower is better.
    of_floor: bool = False
    # The ratio aimed at, printed in the table ("<= 2x (moonshot 1.5x)").
    goal: str = ""

    @property
    def ratio(self) -> float | None:
        """Figure relative to the reference: figure / floor for a floor, otherwise
        oriented so that >1 means better."""
        if not self.reference or not self.figure:
            return None
        if self.of_floor:
            return self.figure / self.reference
        if self.better == "higher":
            return self.figure / self.reference
        return self.reference / self.figure


@dataclass
class Context:
    database_url: str
    reference: dict = field(default_factory=dict)
    # Scale factor for quick runs: BENCH_SCALE=0.1 runs a tenth of the work.
    scale: float = float(os.environ.get("BENCH_SCALE", "1"))

    def scaled(self, count: int) -> int:
        return max(1, int(count * self.scale))

    def settle(self, *tables: str, timeout: float = 300) -> float:
        """Vacuum and analyze freshly loaded ``tables``, then wait until no
        autovacuum worker is busy; returns the seconds it took.

        A bulk load leaves work for autovacuum (hint bits, visibility map,
        statistics), which would otherwise start within a minute and take a core
        away from whatever is being timed. Benchmarks call this before timing.
        """
        import psycopg

        start = time.monotonic()
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            for table in tables:
                conn.execute(f"VACUUM (ANALYZE) {table}")
            while time.monotonic() - start < timeout:
                busy = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE backend_type = 'autovacuum worker'"
                ).fetchone()[0]
                if not busy:
                    break
                time.sleep(0.5)
        return time.monotonic() - start


@contextmanager
def stopwatch() -> Iterator[dict]:
    """``with stopwatch() as t: ...`` then ``t["seconds"]``."""
    timing: dict = {}
    start = time.perf_counter()
    try:
        yield timing
    finally:
        timing["seconds"] = time.perf_counter() - start


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def render_table(results: list[Result]) -> str:
    header = ["benchmark", "figure", "unit", "reference", "ratio", "goal"]
    rows = [
        [
            r.name,
            _fmt(r.figure),
            r.unit,
            f"{_fmt(r.reference)} ({r.reference_name})" if r.reference else "—",
            f"{r.ratio:.2f}x" if r.ratio is not None else "—",
            r.goal,
        ]
        for r in results
    ]
    widths = [
        max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))
        )
    notes = [f"- {r.name}: {r.note}" for r in results if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def save(results: list[Result]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / "latest.json"
    payload = [{**asdict(r), "ratio": r.ratio} for r in results]
    path.write_text(json.dumps(payload, indent=2))
    return path
