"""Benchmarks for crimebot: `python -m bench` from the repo root writes `bench/results.md`.

They live outside `bot/` (and outside the pytest suite) because timings depend on the machine:
tests must not assert on them, but the lead needs one repeatable command that says whether the
bot is fast enough for a newsroom, and where the time goes when it is not.
"""
