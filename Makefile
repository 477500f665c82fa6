.PHONY: run test lint bench bench-scale
VENV ?= .venv

run:
	./run.sh

test:
	./test.sh

lint:
	./test.sh --version >/dev/null
	$(VENV)/bin/ruff check app tests conformance celeryconfig.py setup.py
	$(VENV)/bin/mypy app conformance celeryconfig.py

# The benchmark of issue 7 (see docs/benchmarks.md); BENCH_ARGS adds options, e.g.
# BENCH_ARGS="--database-url postgresql://postgres@127.0.0.1:5432/test".
bench:
	./test.sh --version >/dev/null && $(VENV)/bin/python -m bench $(BENCH_ARGS)

bench-scale:
	./test.sh --version >/dev/null && $(VENV)/bin/python -m bench --scenarios= --scale $(BENCH_ARGS)
