"""Runs a Python program with its clock starting at a given instant, for tests that
start a subprocess (a Celery worker, ``manage.py``), so that it shares the test's
pinned clock instead of reading the wall clock::

    python -m tests.clocked 2026-06-17T09:30:00+00:00 manage.py seed_demo
    python -m tests.clocked 2026-06-17T09:30:00+00:00 -m celery -A billing_site worker

The clock then ticks in real time, as in the tests.
"""

import datetime as dt
import runpy
import sys

import time_machine


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m tests.clocked INSTANT (-m MODULE | FILE)")
    instant = dt.datetime.fromisoformat(argv[0])
    if instant.tzinfo is None:
        raise SystemExit(f"the instant needs a UTC offset, not {argv[0]!r}")
    with time_machine.travel(instant, tick=True):
        if argv[1] == "-m":
            sys.argv = [argv[2], *argv[3:]]
            runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        else:
            sys.argv = argv[1:]
            runpy.run_path(argv[1], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
