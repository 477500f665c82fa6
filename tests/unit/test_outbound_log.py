"""The one masking rule, and the record of the request an action sent (against a real local server)."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

import pytest

from app.actions.base import OutboundLog
from app.actions.egress import EgressDenied, EgressPolicy
from app.actions.http import MistralHTTPAction
from app.masking import MASK, masked_headers, masked_url
from tests.unit.test_http_actions import ThirdParty, context, server, third_party  # noqa: F401 - fixtures

# The default policy lets the loopback through (HTTP_DENY_PRIVATE is the service's setting).
LOOPBACK = EgressPolicy()


def test_secret_headers_are_masked_whatever_their_spelling() -> None:
    shown = masked_headers({
        "Authorization": "Bearer a", "proxy-authorization": "b", "Cookie": "c", "X-Auth-Token": "d",
        "Mistral-Callback-Token": "e", "X-Api-Key": "f", "X-Client-Secret": "g", "X-Session-Id": "h",
        "Mistral-Action-Execution-Id": "ae-1", "Content-Type": "application/json", "X-Count": 3,
    })
    assert {name for name, value in shown.items() if value == MASK} == {
        "Authorization", "proxy-authorization", "Cookie", "X-Auth-Token", "Mistral-Callback-Token", "X-Api-Key",
        "X-Client-Secret", "X-Session-Id"}
    assert shown["Mistral-Action-Execution-Id"] == "ae-1" and shown["X-Count"] == 3


def test_a_url_keeps_everything_but_its_credentials() -> None:
    assert masked_url("http://svc:8989/v2/action_executions/ae-1?token=abc") == \
        f"http://svc:8989/v2/action_executions/ae-1?token={MASK}"
    assert masked_url("https://user:pw@host/p?a=1&api_key=k&b=2#f") == f"https://user:{MASK}@host/p?a=1&api_key={MASK}&b=2#f"
    assert masked_url("https://tok@host/p") == f"https://{MASK}@host/p"
    plain = "http://host/p?a=1&b=%20x"
    assert masked_url(plain) == plain
    # A URL carried in a header loses its capability too.
    assert masked_headers({"Mistral-Callback-Full-URL": "http://s/v2/action_executions/x?token=t"}) == {
        "Mistral-Callback-Full-URL": f"http://s/v2/action_executions/x?token={MASK}"}


def _context(outbound: OutboundLog):  # type: ignore[no-untyped-def]
    return dataclasses.replace(context(LOOPBACK), outbound=outbound)


def test_the_first_request_of_a_redirect_chain_is_the_one_recorded(third_party: ThirdParty) -> None:  # noqa: F811
    outbound = OutboundLog()
    target = f"{third_party.url}/echo"
    action = MistralHTTPAction(url=f"{third_party.url}/redirect?to={quote(target)}", method="post",
                               headers={"Authorization": "Bearer x"})
    assert action.run(_context(outbound)) is None
    assert [r.path for r in third_party.requests] == ["/redirect", "/echo"]
    sent = outbound.sent
    assert sent is not None
    assert (sent["method"], sent["url"]) == ("POST", f"{third_party.url}/redirect?to={quote(target)}")
    assert sent["headers"]["Authorization"] == MASK
    assert sent["headers"]["Mistral-Action-Execution-Id"] == "ae-1"
    assert sent["headers"]["Mistral-Callback-Full-URL"] == "http://tramontane.test:8989/v2/action_executions/ae-1"
    assert len(sent["sent_at"]) == len("2026-12-03 08:00:00")


def test_a_request_answered_with_an_error_status_was_sent(third_party: ThirdParty) -> None:  # noqa: F811
    outbound = OutboundLog()
    result = MistralHTTPAction(url=f"{third_party.url}/status/503").run(_context(outbound))
    assert result.is_error()
    assert outbound.sent is not None and outbound.sent["url"] == f"{third_party.url}/status/503"


def test_a_request_the_policy_refused_was_not_sent() -> None:
    outbound = OutboundLog()
    action = MistralHTTPAction(url="http://169.254.169.254/latest/meta-data")
    with pytest.raises(EgressDenied):
        action.run(dataclasses.replace(context(), outbound=outbound))
    assert outbound.sent is None
