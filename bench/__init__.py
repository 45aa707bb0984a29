"""Benchmarks run by ``make bench``; each ``bench/bench_*.py`` module is one group."""
