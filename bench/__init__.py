"""Tramontane's benchmark: ``python -m bench --help`` (issue 7, DECISIONS.md "Benchmark (issue F)")."""
