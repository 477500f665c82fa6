.PHONY: run test lint bench bench-postgres bench-scale
VENV ?= .venv

run:
	./run.sh

test:
	./test.sh

lint:
	./test.sh --version >/dev/null
	$(VENV)/bin/ruff check app tests conformance celeryconfig.py setup.py
	$(VENV)/bin/mypy app conformance celeryconfig.py

# The benchmark (see docs/benchmarks.md): `make bench` on SQLite, `make bench-postgres` on the
# PostgreSQL server of BENCH_POSTGRES_URL (the bench creates and drops a database of its own there,
# never the one named). BENCH_ARGS adds options, e.g. BENCH_ARGS="--scenarios=seq50_exec --rounds 1".
BENCH_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
bench:
	./test.sh --version >/dev/null && $(VENV)/bin/python -m bench $(BENCH_ARGS)

bench-postgres:
	./test.sh --version >/dev/null && $(VENV)/bin/python -m bench --database-url $(BENCH_POSTGRES_URL) $(BENCH_ARGS)

bench-scale:
	./test.sh --version >/dev/null && $(VENV)/bin/python -m bench --scenarios= --scale $(BENCH_ARGS)
