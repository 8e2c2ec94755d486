"""Benchmarks of the money paths beside their ceilings (issue 13, docs/performance.md).

`python -m bench` starts everything it needs on this machine (its own PostgreSQL database,
a private redis-server, an in-memory nx-27017, the sandbox with no delay, each role under
Granian), runs the scenarios and writes `bench/results/<date>.json` and the table in
docs/performance.md. `python -m bench --quick` runs a few seconds per scenario, for CI.
"""
