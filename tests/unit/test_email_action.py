"""std.email against a real local SMTP server (aiosmtpd), in plain SMTP and with STARTTLS + login."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.actions import email as email_action
from app.actions import registry
from app.actions.base import ActionContext, ActionError, ExecutionContext
from app.actions.egress import EgressDenied, EgressPolicy
from app.actions.email import SendEmailAction

CONTEXT = ActionContext(ExecutionContext(action_execution_id="ae-1"))


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], EmailMessage]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        # handled=False lets the server send the 535 reply itself.
        return AuthResult(success=data.password == b"s3cret", handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def plain_server() -> Iterator[tuple[str, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"127.0.0.1:{port}", mailbox
    controller.stop()


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Mailbox]]:
    cert_path, key_path = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    # The action verifies certificates; the test CA stands in for the system store.
    monkeypatch.setattr(email_action, "_tls_context",
                        lambda: ssl.create_default_context(cafile=str(cert_path)))
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=server_context,
                            require_starttls=True, authenticator=mailbox.authenticate, auth_require_tls=True)
    controller.start()
    yield f"127.0.0.1:{port}", mailbox
    controller.stop()


def test_sends_plain_message_with_defaults_and_bcc_in_envelope_only(
        plain_server: tuple[str, Mailbox]) -> None:
    server, mailbox = plain_server
    action = SendEmailAction(from_addr="wf@example.test", to_addrs=["a@example.test", "b@example.test"],
                             smtp_server=server, cc_addrs=["c@example.test"],
                             bcc_addrs=["hidden@example.test"],
                             reply_to=["replies@example.test"])

    assert action.run(CONTEXT) is None
    ((sender, recipients, message),) = mailbox.envelopes
    assert sender == "wf@example.test"
    assert recipients == ["a@example.test", "b@example.test", "c@example.test", "hidden@example.test"]
    assert message["Subject"] == "<No subject>"
    assert message["To"] == "a@example.test, b@example.test"
    assert message["Cc"] == "c@example.test"
    assert message["Reply-To"] == "replies@example.test"
    assert message["Bcc"] is None
    assert message.get_content().strip() == "<No body>"


def test_html_body_is_a_multipart_alternative(plain_server: tuple[str, Mailbox]) -> None:
    server, mailbox = plain_server
    SendEmailAction(from_addr="wf@example.test", to_addrs="a@example.test", smtp_server=server,
                    subject="Report", body="plain text", html_body="<p>rich text</p>").run(CONTEXT)

    message = mailbox.envelopes[0][2]
    assert message["Subject"] == "Report"
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content().strip() for part in message.iter_parts()}
    assert parts == {"text/plain": "plain text", "text/html": "<p>rich text</p>"}


def test_password_means_starttls_and_login(tls_server: tuple[str, Mailbox]) -> None:
    server, mailbox = tls_server
    SendEmailAction(from_addr="wf@example.test", to_addrs=["a@example.test"], smtp_server=server,
                    smtp_password="s3cret", body="over TLS").run(CONTEXT)

    assert mailbox.logins == [(b"wf@example.test", b"s3cret")]
    assert mailbox.envelopes[0][2].get_content().strip() == "over TLS"


def test_wrong_password_is_an_action_error(tls_server: tuple[str, Mailbox]) -> None:
    server, mailbox = tls_server
    with pytest.raises(ActionError, match="Failed to send an email message"):
        SendEmailAction(from_addr="wf@example.test", to_addrs=["a@example.test"], smtp_server=server,
                        smtp_password="wrong").run(CONTEXT)
    assert mailbox.envelopes == []


def test_untrusted_certificate_is_refused(tls_server: tuple[str, Mailbox],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    server, mailbox = tls_server
    monkeypatch.setattr(email_action, "_tls_context", ssl.create_default_context)
    with pytest.raises(ActionError, match="CERTIFICATE_VERIFY_FAILED"):
        SendEmailAction(from_addr="wf@example.test", to_addrs=["a@example.test"], smtp_server=server,
                        smtp_password="s3cret").run(CONTEXT)
    assert mailbox.logins == []


def test_unreachable_server_and_missing_recipients() -> None:
    with pytest.raises(ActionError, match="Failed to send an email message"):
        SendEmailAction(from_addr="wf@example.test", to_addrs=["a@example.test"],
                        smtp_server=f"127.0.0.1:{free_port()}").run(CONTEXT)
    with pytest.raises(ActionError, match="no recipient"):
        SendEmailAction(from_addr="wf@example.test", to_addrs=[], smtp_server="127.0.0.1:1").run(CONTEXT)
    assert registry.find("std.email") is SendEmailAction


def test_the_outbound_policy_refuses_a_denied_smtp_server(plain_server: tuple[str, Mailbox]) -> None:
    server, mailbox = plain_server
    denied = ActionContext(CONTEXT.execution, egress=EgressPolicy.create(denied_cidrs=["127.0.0.0/8"]))
    action = SendEmailAction(from_addr="wf@example.test", to_addrs="a@example.test", smtp_server=server)

    with pytest.raises(EgressDenied, match=r"Outbound connection to port \d+ denied: host '127.0.0.1'"):
        action.run(denied)
    assert mailbox.envelopes == []
    # The same server is reached once the policy allows it: the refusal came from the policy.
    action.run(ActionContext(CONTEXT.execution, egress=EgressPolicy.create()))
    assert len(mailbox.envelopes) == 1
