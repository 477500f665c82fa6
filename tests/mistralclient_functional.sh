#!/usr/bin/env bash
# python-mistralclient's own functional CLI tests, run against a Mistral API v2 that is already up
# (Tramontane or Mistral itself), without Keystone. Starts nothing: give it the URL of a running API.
#
#   tests/mistralclient_functional.sh [--url http://127.0.0.1:8989/v2] [--outcomes FILE]
#                                     [--suite v2|multi-tenancy] [pytest arguments, e.g. -k Workbook]
#
# It builds its own virtualenv when missing (MCF_VENV, default .venv-mcf, gitignored): the client
# pinned in requirements-cli.txt, tempest and pytest, plus the client's sdist for the workflow
# definitions the tests read (they are not in the wheel). The tests use fixed names (wb, wf1, ...):
# run one at a time against a given server. Prints the pass/fail counts; exits non-zero on failures.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${MCF_VENV:-$ROOT/.venv-mcf}"
STAMP="$VENV/.installed-mcf"
TEMPEST_PIN="tempest==47.0.0"
PYTEST_PIN="pytest==9.2.0"

client_version() {
    sed -n 's/^python-mistralclient==\([^ ;#]*\).*/\1/p' "$ROOT/requirements-cli.txt"
}

ensure_venv() {
    local version wanted python
    version="$(client_version)"
    if [ -z "$version" ]; then
        echo "mistralclient_functional: no python-mistralclient==X pin in requirements-cli.txt" >&2
        exit 1
    fi
    wanted="python-mistralclient==$version $TEMPEST_PIN $PYTEST_PIN"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
        return
    fi
    python="$(command -v python3.11 || command -v python3)"
    [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q \
        "python-mistralclient==$version" "$TEMPEST_PIN" "$PYTEST_PIN"
    local sdist
    sdist="$(mktemp -d)"
    "$VENV/bin/python" -m pip download --disable-pip-version-check -q --no-deps \
        --no-binary :all: "python-mistralclient==$version" -d "$sdist"
    rm -rf "$VENV/functionaltests"
    tar -xzf "$sdist"/python_mistralclient-"$version".tar.gz -C "$sdist"
    mv "$sdist/python_mistralclient-$version/functionaltests" "$VENV/functionaltests"
    rm -rf "$sdist"
    echo "$wanted" >"$STAMP"
}

URL="http://127.0.0.1:8989/v2"
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --url) URL="$2"; shift 2 ;;
        --url=*) URL="${1#--url=}"; shift ;;
        *) ARGS+=("$1"); shift ;;
    esac
done

ensure_venv
if ! curl -fsS -o /dev/null "$URL/workflows?limit=1"; then
    echo "mistralclient_functional: no API answers at $URL" >&2
    exit 2
fi
exec "$VENV/bin/python" "$ROOT/tests/support/mistralclient_functional.py" --url "$URL" \
    --resources "$VENV/functionaltests" -q -rf ${ARGS[@]+"${ARGS[@]}"}
