"""std.ssh against an in-process SSH server built from paramiko's server classes (no mock)."""

from __future__ import annotations

import io
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from app.actions import registry
from app.actions.base import ActionContext, ActionError, ExecutionContext
from app.actions.egress import EgressDenied, EgressPolicy
from app.actions.ssh import SSHAction, split_host

CONTEXT = ActionContext(ExecutionContext(action_execution_id="ae-1"))
USER, PASSWORD = "alice", "wonderland"


class Server(paramiko.ServerInterface):
    """Accepts alice by password or by her key, and runs exec requests in a shell."""

    def __init__(self, authorized: paramiko.PKey) -> None:
        self.authorized = authorized
        self.commands: list[str] = []

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey"

    def check_auth_password(self, username: str, password: str) -> int:
        ok = (username, password) == (USER, PASSWORD)
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == USER and key.asbytes() == self.authorized.asbytes()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.commands.append(command.decode())
        threading.Thread(target=self._execute, args=(channel, command.decode()), daemon=True).start()
        return True

    @staticmethod
    def _execute(channel: paramiko.Channel, command: str) -> None:
        completed = subprocess.run(command, shell=True, capture_output=True, timeout=60)
        channel.sendall(completed.stdout)
        channel.sendall_stderr(completed.stderr)
        channel.send_exit_status(completed.returncode)
        # No close here: it could overtake the server's reply to the exec request, and the client
        # would then see a closed channel. The client closes it once it has the exit status.


class SSHServerThread:
    def __init__(self, authorized: paramiko.PKey) -> None:
        self.host_key = paramiko.RSAKey.generate(2048)
        self.server = Server(authorized)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.transports: list[paramiko.Transport] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(connection)
            transport.add_server_key(self.host_key)
            self.transports.append(transport)
            try:
                transport.start_server(server=self.server)
            except (paramiko.SSHException, EOFError):
                transport.close()

    def close(self) -> None:
        self.listener.close()
        for transport in self.transports:
            transport.close()


@pytest.fixture(scope="module")
def client_key() -> paramiko.ECDSAKey:
    return paramiko.ECDSAKey.generate()


@pytest.fixture(scope="module")
def ssh_server(client_key: paramiko.ECDSAKey) -> Iterator[SSHServerThread]:
    server = SSHServerThread(client_key)
    yield server
    server.close()


def address(server: SSHServerThread) -> str:
    return f"127.0.0.1:{server.port}"


def test_password_login_returns_stdout(ssh_server: SSHServerThread) -> None:
    action = SSHAction(cmd="echo hello; echo ignored >&2", host=address(ssh_server), username=USER,
                       password=PASSWORD)

    assert action.run(CONTEXT) == "hello\n"
    assert ssh_server.server.commands[-1] == "echo hello; echo ignored >&2"


def test_private_key_text_and_file(ssh_server: SSHServerThread, client_key: paramiko.ECDSAKey,
                                   tmp_path: Path) -> None:
    text = io.StringIO()
    client_key.write_private_key(text)
    by_text = SSHAction(cmd="printf key", host=address(ssh_server), username=USER,
                        private_key=text.getvalue())
    assert by_text.run(CONTEXT) == "key"

    key_file = tmp_path / "id_ecdsa"
    client_key.write_private_key_file(str(key_file), password="phrase")
    by_file = SSHAction(cmd="printf file", host=address(ssh_server), username=USER, password="phrase",
                        private_key_filename=str(key_file))
    assert by_file.run(CONTEXT) == "file"


def test_several_hosts_give_a_list(ssh_server: SSHServerThread) -> None:
    action = SSHAction(cmd="printf ok", host=[address(ssh_server), f"[127.0.0.1]:{ssh_server.port}"],
                       username=USER, password=PASSWORD)
    assert action.run(CONTEXT) == ["ok", "ok"]
    single = SSHAction(cmd="printf one", host=[address(ssh_server)], username=USER, password=PASSWORD)
    assert single.run(CONTEXT) == "one"


def test_non_zero_exit_is_an_error_unless_asked_for_the_result(ssh_server: SSHServerThread) -> None:
    cmd = "echo partial; echo broken >&2; exit 3"
    with pytest.raises(ActionError, match="exit code 3, stderr: broken"):
        SSHAction(cmd=cmd, host=address(ssh_server), username=USER, password=PASSWORD).run(CONTEXT)

    result = SSHAction(cmd=cmd, host=address(ssh_server), username=USER, password=PASSWORD,
                       return_result_on_error=True).run(CONTEXT)
    assert result == {"stdout": "partial\n", "stderr": "broken\n", "exit_code": 3}


def test_large_stderr_does_not_stall(ssh_server: SSHServerThread) -> None:
    # More than paramiko's 2 MiB window on stderr while stdout stays open: a naive reader deadlocks.
    cmd = "head -c 3000000 /dev/zero | tr '\\0' e >&2; printf done"
    result = SSHAction(cmd=cmd, host=address(ssh_server), username=USER, password=PASSWORD,
                       return_result_on_error=True).run(CONTEXT)
    assert result == "done"


def test_bad_credentials_and_unreachable_host(ssh_server: SSHServerThread) -> None:
    with pytest.raises(ActionError, match="Failed to execute ssh cmd 'true' on 127.0.0.1"):
        SSHAction(cmd="true", host=address(ssh_server), username=USER, password="nope").run(CONTEXT)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(ActionError, match="Failed to execute ssh cmd"):
        SSHAction(cmd="true", host=f"127.0.0.1:{closed_port}", username=USER, password=PASSWORD).run(CONTEXT)
    with pytest.raises(ActionError, match="not an RSA, ECDSA or Ed25519 private key"):
        SSHAction(cmd="true", host=address(ssh_server), username=USER, private_key="garbage").run(CONTEXT)
    with pytest.raises(ActionError, match="must not contain '..'"):
        SSHAction(cmd="true", host=address(ssh_server), username=USER,
                  private_key_filename="../../etc/key").run(CONTEXT)


def test_split_host_and_registration() -> None:
    assert split_host("box") == ("box", 22)
    assert split_host("box:2222") == ("box", 2222)
    assert split_host("[::1]:2200") == ("::1", 2200)
    assert split_host("::1") == ("::1", 22)
    assert registry.find("std.ssh") is SSHAction


def test_the_outbound_policy_refuses_a_denied_host(ssh_server: SSHServerThread) -> None:
    command = "echo reached by the permitted run only"
    denied = ActionContext(CONTEXT.execution, egress=EgressPolicy.create(denied_cidrs=["127.0.0.0/8"]))
    action = SSHAction(cmd=command, host=address(ssh_server), username=USER, password=PASSWORD)

    with pytest.raises(EgressDenied, match="Outbound connection to port .* 127.0.0.0/8"):
        action.run(denied)
    # The permitted run reaches the same server: had the denied one, the command would show twice.
    assert action.run(ActionContext(CONTEXT.execution, egress=EgressPolicy.create())) == \
        "reached by the permitted run only\n"
    assert ssh_server.server.commands.count(command) == 1
