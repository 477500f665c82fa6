#!/usr/bin/env bash
# Run command: set up .venv when needed, install, then run the whole stack (`tramontane up`).
# Arguments are passed to `tramontane up` (see `./run.sh --help`).
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
STAMP="$VENV/.installed-run"

ensure_venv() {
    if [ -x "$VENV/bin/python" ]; then
        return
    fi
    local python
    python="$(command -v python3.11 || command -v python3 || true)"
    if [ -z "$python" ]; then
        echo "run.sh: Python 3.11 is required (python3.11 or python3 on PATH)" >&2
        exit 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "run.sh: $python is older than Python 3.11" >&2
        exit 1
    fi
    "$python" -m venv "$VENV"
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
    wanted="$(inputs_hash requirements.txt setup.py setup.cfg pyproject.toml)"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
        return
    fi
    "$VENV/bin/python" -m pip install --disable-pip-version-check -r requirements.txt -e .
    echo "$wanted" >"$STAMP"
}

ensure_venv
ensure_installed
exec "$VENV/bin/tramontane" up "$@"
