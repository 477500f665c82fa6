"""``std.ssh``: runs a command on one or several hosts over SSH (paramiko)."""

from __future__ import annotations

import io
import logging
import select
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.actions import egress
from app.actions.base import Action, ActionContext, ActionError
from app.actions.egress import EgressPolicy

if TYPE_CHECKING:
    import paramiko

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 30.0
_READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class CommandOutput:
    exit_code: int
    stdout: str
    stderr: str


def split_host(host: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port``; Mistral takes a bare host only, tests need a port."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 22
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        return name, int(port)
    return host, 22


def _paramiko() -> Any:
    # Imported on first use: paramiko and its cryptography cost every process ~30 MiB otherwise.
    import paramiko

    return paramiko


def _key_from_text(text: str, passphrase: str | None) -> paramiko.PKey:
    paramiko = _paramiko()
    for key_class in (paramiko.RSAKey, paramiko.ECDSAKey, paramiko.Ed25519Key):
        try:
            return key_class.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.SSHException:
            continue
    raise ActionError("std.ssh: private_key is not an RSA, ECDSA or Ed25519 private key in PEM/OpenSSH form")


def _key_path(filename: str) -> Path:
    # Relative names are looked up in ~/.ssh as in Mistral, and may not climb out of it.
    if ".." in Path(filename).parts:
        raise ActionError("std.ssh: private_key_filename must not contain '..'")
    path = Path(filename).expanduser()
    return path if path.is_absolute() else Path("~/.ssh").expanduser() / path


def _collect(channel: paramiko.Channel) -> tuple[bytes, bytes]:
    """Read stdout and stderr together, so a chatty stderr cannot stall the command."""
    out, err = bytearray(), bytearray()
    while True:
        while channel.recv_ready():
            out += channel.recv(_READ_SIZE)
        while channel.recv_stderr_ready():
            err += channel.recv_stderr(_READ_SIZE)
        # The exit status arrives after the last data message, so nothing is left behind.
        if channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
            return bytes(out), bytes(err)
        select.select([channel], [], [], 0.5)


class SSHAction(Action):
    """Runs ``cmd``; the result is its stdout, or a list of them when several hosts are given."""

    def __init__(self, cmd: str, host: str | list[str], username: str, password: str = "",
                 private_key_filename: str | None = None, private_key: str | None = None,
                 return_result_on_error: bool = False) -> None:
        self.cmd = cmd
        self.hosts = list(host) if isinstance(host, (list, tuple)) else [host]
        self.username = username
        self.password = password or ""
        self.private_key_filename = private_key_filename
        self.private_key = private_key
        self.return_result_on_error = bool(return_result_on_error)

    def _pkey(self) -> paramiko.PKey | None:
        paramiko = _paramiko()
        passphrase = self.password or None
        if self.private_key:
            return _key_from_text(self.private_key, passphrase)
        if self.private_key_filename:
            try:
                return paramiko.PKey.from_path(_key_path(self.private_key_filename),
                                               passphrase.encode() if passphrase else None)
            except (OSError, paramiko.SSHException, ValueError) as exc:
                raise ActionError(f"std.ssh: cannot load private key {self.private_key_filename!r}: "
                                  f"{exc}") from exc
        return None

    def execute(self, host: str, policy: EgressPolicy | None = None) -> CommandOutput:
        name, port = split_host(host)
        # Connected here, through the outbound policy; paramiko only speaks SSH over it.
        sock = (policy or EgressPolicy()).connect(name, port, CONNECT_TIMEOUT)
        pkey = self._pkey()
        paramiko = _paramiko()
        client = paramiko.SSHClient()
        try:
            client.load_system_host_keys()
            # Mistral accepts unknown host keys and workflows rely on it; a key that contradicts
            # the worker's known_hosts is still refused.
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507
            client.connect(
                name, port=port, username=self.username, password=self.password or None, pkey=pkey,
                timeout=CONNECT_TIMEOUT, allow_agent=False, sock=sock,
                look_for_keys=not (self.password or pkey),
            )
            transport = client.get_transport()
            if transport is None:
                raise ActionError(f"std.ssh: no SSH transport to {host}")
            channel = transport.open_session()
            channel.exec_command(self.cmd)
            stdout, stderr = _collect(channel)
            return CommandOutput(channel.recv_exit_status(), stdout.decode(errors="replace"),
                                 stderr.decode(errors="replace"))
        finally:
            client.close()
            sock.close()

    def _run_on(self, host: str, policy: EgressPolicy) -> Any:
        paramiko = _paramiko()
        try:
            output = self.execute(host, policy)
        except ActionError:
            raise
        except (paramiko.SSHException, OSError) as exc:
            log.info("std.ssh on %s failed: %r", host, exc)
            raise ActionError(f"Failed to execute ssh cmd '{self.cmd}' on {host}: {exc}") from exc
        if output.exit_code == 0:
            return output.stdout
        if self.return_result_on_error:
            return {"stdout": output.stdout, "stderr": output.stderr, "exit_code": output.exit_code}
        raise ActionError(f"Failed to execute ssh cmd '{self.cmd}' on {host}: exit code "
                          f"{output.exit_code}, stderr: {output.stderr[-2000:]}")

    def run(self, context: ActionContext) -> Any:
        if not self.hosts:
            raise ActionError("std.ssh: no host given")
        policy = egress.policy_of(context)
        results = [self._run_on(host, policy) for host in self.hosts]
        # As in Mistral: a list only when there is more than one result.
        return results if len(results) > 1 else results[0]
