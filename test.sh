#!/usr/bin/env bash
# Test command: set up .venv (dev dependencies) and .venv-cli (the pinned `mistral` CLI) when needed,
# then run pytest with MISTRAL_CLI pointing at that CLI.
# Arguments are passed to pytest (e.g. `./test.sh -x tests/unit`).
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
STAMP="$VENV/.installed-test"
# python-mistralclient (the `mistral` CLI the tests drive) lives in its own virtualenv, so that its
# pins never constrain ours (DECISIONS.md, "Tests and CI").
CLI_VENV=.venv-cli
CLI_STAMP="$CLI_VENV/.installed-cli"

find_python() {
    local python
    python="$(command -v python3.11 || command -v python3 || true)"
    if [ -z "$python" ]; then
        echo "test.sh: Python 3.11 is required (python3.11 or python3 on PATH)" >&2
        exit 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "test.sh: $python is older than Python 3.11" >&2
        exit 1
    fi
    echo "$python"
}

ensure_venv() {
    local venv="$1"
    if [ -x "$venv/bin/python" ]; then
        return
    fi
    local python
    python="$(find_python)"
    "$python" -m venv "$venv"
}

# The stamp holds a hash of the install inputs, so pip only runs again when one of them changed.
inputs_hash() {
    "$VENV/bin/python" -c 'import hashlib, sys
digest = hashlib.sha256()
for name in sys.argv[1:]:
    try:
        with open(name, "rb") as f:
            digest.update(name.encode() + b"\0" + f.read())
    except FileNotFoundError:
        pass
print(digest.hexdigest())' "$@"
}

ensure_installed() {
    local wanted
    wanted="$(inputs_hash requirements-dev.txt requirements.txt setup.py setup.cfg pyproject.toml \
        plugins/tramontane-bench-actions/pyproject.toml)"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
        return
    fi
    "$VENV/bin/python" -m pip install --disable-pip-version-check -r requirements-dev.txt -e .
    echo "$wanted" >"$STAMP"
}

ensure_cli_installed() {
    local wanted
    wanted="$(inputs_hash requirements-cli.txt)"
    if [ -f "$CLI_STAMP" ] && [ "$(cat "$CLI_STAMP")" = "$wanted" ]; then
        return
    fi
    "$CLI_VENV/bin/python" -m pip install --disable-pip-version-check -r requirements-cli.txt
    echo "$wanted" >"$CLI_STAMP"
}

# The browser tests (tests/browser/) drive Debian's chromium through its chromedriver, both from apt:
# nothing downloads a browser of its own. CHROMIUM_BINARY and CHROMEDRIVER name others.
ensure_browser() {
    local browser="${CHROMIUM_BINARY:-/usr/bin/chromium}" driver="${CHROMEDRIVER:-/usr/bin/chromedriver}"
    if [ -x "$browser" ] && [ -x "$driver" ]; then
        return
    fi
    if ! command -v apt-get >/dev/null; then
        # Not Debian: the other tests still run; the browser tests fail naming what is missing.
        echo "test.sh: the browser tests need $browser and $driver (Debian: chromium, chromium-driver;" \
             "elsewhere set CHROMIUM_BINARY and CHROMEDRIVER, or leave them out with -m 'not browser')" >&2
        return
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        sudo=sudo
    fi
    echo "test.sh: installing Debian's chromium and chromium-driver for the browser tests (apt-get)" >&2
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
}

ensure_browser
ensure_venv "$VENV"
ensure_installed
ensure_venv "$CLI_VENV"
ensure_cli_installed
export MISTRAL_CLI="$PWD/$CLI_VENV/bin/mistral"
exec "$VENV/bin/pytest" "$@"
