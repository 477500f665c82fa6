"""Run the real ``mistral`` CLI of python-mistralclient against a live stack.

test.sh installs the client in its own virtualenv (.venv-cli) and exports ``MISTRAL_CLI``; without
that variable the CLI is looked for at ``.venv-cli/bin/mistral`` in the project root. No test
creates a virtualenv or runs pip, so a missing CLI fails the test with the way to install it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CLI = PROJECT_ROOT / ".venv-cli" / "bin" / "mistral"
TIMEOUT = 60
# Variables that would make the client authenticate (Keystone, Keycloak) or point elsewhere.
_AUTH_PREFIXES = ("OS_", "MISTRAL", "OPENID_", "TARGET_MISTRAL", "KEYCLOAK")


def cli_path() -> Path:
    given = os.environ.get("MISTRAL_CLI")
    path = Path(given) if given else DEFAULT_CLI
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"the mistral CLI was not found at {path} "
            f"({'MISTRAL_CLI' if given else 'MISTRAL_CLI is unset; default .venv-cli/bin/mistral'}). "
            "Run the suite with ./test.sh, which installs requirements-cli.txt into .venv-cli and "
            "exports MISTRAL_CLI.",
            pytrace=False,
        )
    return path


@dataclass
class CliResult:
    args: list[str]
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def describe(self) -> str:
        return (f"mistral {' '.join(self.args)} -> exit {self.exit_code}\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}")


class MistralCli:
    """``mistral --os-mistral-url <base_url>/v2 <args>`` with no authentication in its environment."""

    def __init__(self, base_url: str, workdir: Path) -> None:
        self.url = f"{base_url}/v2"
        # The client reads ``--output 3`` as a file name first: run where no such file exists.
        self.workdir = workdir

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_AUTH_PREFIXES)}
        env.update({"PYTHONWARNINGS": "ignore", "COLUMNS": "200"})
        return env

    def run(self, *args: str, output_format: str | None = None) -> CliResult:
        """Run one command; ``output_format`` ("json", "value", ...) is cliff's ``-f`` for the
        commands that have formatters (list and show commands)."""
        # Looked up here, not in a fixture, so that a missing CLI fails each test (rather than
        # erroring its setup) with the message of cli_path().
        command = [str(cli_path()), "--os-mistral-url", self.url, *args]
        if output_format is not None:
            command += ["-f", output_format]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                                   env=self.environment(), cwd=self.workdir, stdin=subprocess.DEVNULL)
        return CliResult(list(args), completed.returncode, completed.stdout, completed.stderr)

    def ok(self, *args: str, output_format: str | None = None) -> CliResult:
        """Run a command that must succeed."""
        result = self.run(*args, output_format=output_format)
        assert result.exit_code == 0, result.describe()
        return result

    def json(self, *args: str) -> Any:
        """Run a command that must succeed and decode its ``-f json`` output."""
        result = self.ok(*args, output_format="json")
        try:
            return result.json()
        except ValueError as exc:
            raise AssertionError(f"not JSON:\n{result.describe()}") from exc


def write_file(cli: MistralCli, name: str, text: str) -> str:
    """A definition file in the CLI's working folder; returns its path."""
    path = cli.workdir / name
    path.write_text(text)
    return str(path)


def wait_for_execution(cli: MistralCli, execution_id: str,
                       states: tuple[str, ...] = ("SUCCESS", "ERROR", "CANCELLED"),
                       timeout: float = 60) -> dict[str, Any]:
    """Poll ``execution-get`` (the CLI, not the HTTP API) until the execution reaches ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        shown: dict[str, Any] = cli.json("execution-get", execution_id)
        if shown["State"] in states:
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {execution_id} is {shown['State']} after {timeout}s")
        time.sleep(0.1)
