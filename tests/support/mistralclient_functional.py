"""Run python-mistralclient's own functional CLI tests against a Mistral API v2 at a given URL.

Those tests (``mistralclient/tests/functional/cli/v2``) drive the real ``mistral`` CLI through
tempest's CLI helpers. Upstream they expect a devstack: the URL is fixed in the test classes and the
test base reads Keystone credentials from a ``clouds.yaml`` even when ``WITHOUT_AUTH`` makes the
CLI itself skip authentication. This runner changes neither the tests nor the client; in the test
process it only points the classes at the given URL and hands the base placeholder credentials,
so no Keystone is needed. Tests that really authenticate (the alternate user, the target cloud,
multi-tenancy) fail here, on Mistral as on Tramontane.

It runs inside the virtualenv that ``tests/mistralclient_functional.sh`` builds (the pinned
python-mistralclient, tempest, pytest), not in the project's ``.venv``:

    .venv-mcf/bin/python tests/support/mistralclient_functional.py --url http://127.0.0.1:8989/v2 \
        --resources .venv-mcf/functionaltests [--outcomes FILE] [pytest arguments...]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

PACKAGE = "mistralclient.tests.functional.cli"
TEST_MODULES = {
    "v2": f"{PACKAGE}.v2.test_cli_v2",
    "multi-tenancy": f"{PACKAGE}.v2.test_cli_multi_tenancy",
}
# Read by the test base only to build tempest's CLIClient; the CLI never sees them under WITHOUT_AUTH.
PLACEHOLDER_CREDENTIALS = {
    "username": "admin",
    "password": "unused",
    "project_name": "admin",
    "user_domain_id": "default",
    "project_domain_id": "default",
    "auth_url": "http://keystone.invalid/identity/v3",
}
# Variables that would make the CLI authenticate or point elsewhere.
_AUTH_PREFIXES = ("OS_", "MISTRAL", "OPENID_", "TARGET_MISTRAL", "KEYCLOAK")


def placeholder_credentials(cloud: str = "devstack-admin") -> dict[str, str]:
    return dict(PLACEHOLDER_CREDENTIALS)


def point_tests_at(url: str, module_names: list[str]) -> None:
    base = importlib.import_module(f"{PACKAGE}.base")
    setattr(base, "credentials", placeholder_credentials)
    for name in [f"{PACKAGE}.v2.base_v2", *module_names]:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and "_mistral_url" in vars(value):
                setattr(value, "_mistral_url", url)


def prepare_environment() -> None:
    for key in list(os.environ):
        if key.upper().startswith(_AUTH_PREFIXES):
            del os.environ[key]
    # base.mistral() runs the CLI without Keystone when this variable exists, found on PATH.
    os.environ["WITHOUT_AUTH"] = "1"
    os.environ["PYTHONWARNINGS"] = "ignore"
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    # Where the authenticated calls (alternate user) look for the CLI; upstream a tox folder.
    os.environ["OS_MISTRALCLIENT_EXEC_DIR"] = bin_dir


class Outcomes:
    """Collects one outcome per test (its call phase, or the setup/teardown phase that failed)."""

    def __init__(self) -> None:
        self.results: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        name = report.nodeid.split("::", 1)[-1]
        if report.when == "call" or report.outcome != "passed":
            if self.results.get(name) in (None, "passed"):
                self.results[name] = report.outcome

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.results.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the API root, e.g. http://127.0.0.1:8989/v2")
    parser.add_argument("--resources", required=True, type=Path,
                        help="the sdist's functionaltests/ folder (the tests' workflow definitions)")
    parser.add_argument("--suite", action="append", choices=sorted(TEST_MODULES),
                        help="test modules to run (default: v2)")
    parser.add_argument("--outcomes", type=Path, help="write '<test> <outcome>' lines to this file")
    return parser.parse_known_args(argv)


def main(argv: list[str]) -> int:
    args, pytest_args = parse_args(argv)
    modules = [TEST_MODULES[s] for s in (args.suite or ["v2"])]
    prepare_environment()
    point_tests_at(args.url.rstrip("/"), modules)
    outcomes = Outcomes()
    # The tests read their definitions at ./functionaltests/... and write scratch files to the
    # working directory: run them in a fresh folder that only links the definitions.
    with tempfile.TemporaryDirectory(prefix="mcf-") as workdir:
        (Path(workdir) / "functionaltests").symlink_to(args.resources.resolve())
        os.chdir(workdir)
        code = pytest.main(["-p", "no:cacheprovider", "--pyargs", *modules, *pytest_args],
                           plugins=[outcomes])
    if args.outcomes:
        args.outcomes.write_text("".join(f"{n} {o}\n" for n, o in sorted(outcomes.results.items())))
    counts = outcomes.counts()
    print("mistralclient functional tests against", args.url, ":",
          ", ".join(f"{counts.get(k, 0)} {k}" for k in ("passed", "failed", "skipped")))
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
