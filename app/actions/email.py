"""``std.email``: sends one message through an SMTP server."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from app.actions import egress
from app.actions.base import Action, ActionContext, ActionError

SMTP_TIMEOUT = 60.0


def _addresses(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value]


def _host_and_port(server: str) -> tuple[str, int]:
    # Split here: smtplib would keep "host:port" as the TLS server name and fail the certificate check.
    host, colon, port = server.rpartition(":")
    if colon and port.isdigit() and not host.endswith(":"):
        return host.strip("[]"), int(port)
    return server.strip("[]"), smtplib.SMTP_PORT


def _tls_context() -> ssl.SSLContext:
    """Verify the server's certificate: STARTTLS without it protects the password from no one."""
    return ssl.create_default_context()


class _GuardedSMTP(smtplib.SMTP):
    """SMTP whose connection goes through the outbound policy (the name is resolved once, checked,
    and the socket connects to the checked address); TLS still verifies the server's name."""

    def __init__(self, policy: egress.EgressPolicy, host: str, port: int, timeout: float) -> None:
        self.egress_policy = policy
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:
        return self.egress_policy.connect(host, port, timeout)


class SendEmailAction(Action):
    """Sends a plain-text message, with an HTML alternative when ``html_body`` is given.

    ``smtp_server`` is ``host`` or ``host:port``. With ``smtp_password`` the connection is upgraded
    with STARTTLS and the sender logs in as ``from_addr``.
    """

    def __init__(self, from_addr: str, to_addrs: Any, smtp_server: str, reply_to: Any = None,
                 cc_addrs: Any = None, bcc_addrs: Any = None, smtp_password: str | None = None,
                 subject: str | None = None, body: str | None = None, html_body: str | None = None) -> None:
        self.from_addr = from_addr
        self.to_addrs = _addresses(to_addrs)
        self.smtp_server = smtp_server
        self.reply_to = _addresses(reply_to)
        self.cc_addrs = _addresses(cc_addrs)
        self.bcc_addrs = _addresses(bcc_addrs)
        self.smtp_password = smtp_password
        self.subject = subject or "<No subject>"
        self.body = body or "<No body>"
        self.html_body = html_body

    def message(self) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = self.subject
        message["From"] = self.from_addr
        message["To"] = ", ".join(self.to_addrs)
        if self.cc_addrs:
            message["Cc"] = ", ".join(self.cc_addrs)
        if self.reply_to:
            message["Reply-To"] = ", ".join(self.reply_to)
        message.set_content(self.body)
        if self.html_body:
            message.add_alternative(self.html_body, subtype="html")
        return message

    def run(self, context: ActionContext) -> Any:
        recipients = self.to_addrs + self.cc_addrs + self.bcc_addrs
        if not recipients:
            raise ActionError("Failed to send an email message: no recipient in to_addrs, cc_addrs "
                              "or bcc_addrs")
        try:
            host, port = _host_and_port(self.smtp_server)
            with _GuardedSMTP(egress.policy_of(context), host, port, SMTP_TIMEOUT) as smtp:
                if self.smtp_password:
                    smtp.starttls(context=_tls_context())
                    smtp.login(self.from_addr, self.smtp_password)
                # Bcc recipients get the message through the envelope only, never in a header.
                smtp.send_message(self.message(), from_addr=self.from_addr, to_addrs=recipients)
        except (smtplib.SMTPException, OSError) as exc:
            raise ActionError(f"Failed to send an email message: {exc}") from exc
        return None
