"""``python -m bench [name ...]``: run the benchmarks (all, or those named)."""

import importlib
import os
import sys
from pathlib import Path

import django

from bench.core import Context, render_table, save


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_site.settings")
    django.setup()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        print(
            "Benchmarks need PostgreSQL: run them with `make bench`.", file=sys.stderr
        )
        return 2
    modules = [
        importlib.import_module(f"bench.{path.stem}")
        for path in sorted(Path(__file__).parent.glob("bench_*.py"))
    ]
    modules.sort(key=lambda module: module.ORDER)
    wanted = set(argv)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    ctx = Context(database_url=database_url)
    results = []
    for module in modules:
        short = module.__name__.removeprefix("bench.bench_")
        if wanted and short not in wanted and module.ORDER != 0:
            continue
        print(f"running {short} ...", flush=True)
        ctx.settle()  # what the previous benchmark left to autovacuum
        results.extend(module.run(ctx))
    print()
    print(render_table(results))
    print(f"\nsaved to {save(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
