.PHONY: run test lint bench
VENV ?= .venv

run:
	./run.sh

test:
	./test.sh

lint:
	./test.sh --version >/dev/null
	$(VENV)/bin/ruff check app tests celeryconfig.py setup.py
	$(VENV)/bin/mypy app celeryconfig.py
