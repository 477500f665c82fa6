"""std.http and std.mistral_http against a real local HTTP server, and the outbound policy."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.actions import egress, registry
from app.actions.base import ActionContext, ActionError, ExecutionContext, Result, signature_text
from app.actions.egress import EgressDenied, EgressPolicy, ResponseTooLarge
from app.actions.http import HTTPAction, MistralHTTPAction
from app.config import Settings
from app.workers.executor import ActionRun, _execute
from tests.unit.test_email_action import self_signed


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    header_items: list[tuple[str, str]]
    body: bytes


@dataclass
class ThirdParty:
    url: str
    requests: list[Recorded] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.recorded.append(Recorded(  # type: ignore[attr-defined]
            self.command, parts.path, parts.query, dict(self.headers.items()), list(self.headers.items()),
            body,
        ))
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        route = getattr(self, "route_" + parts.path.strip("/").split("/")[0].replace("-", "_"), None)
        (route or self.route_echo)(parts.path, query)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route_echo(self, path: str, query: dict[str, str]) -> None:
        self._send(200, json.dumps({"path": path, "query": query}).encode(),
                   extra={"Set-Cookie": "session=abc; Path=/"})

    def route_status(self, path: str, query: dict[str, str]) -> None:
        code = int(path.rsplit("/", 1)[1])
        self._send(code, json.dumps({"code": code}).encode())

    def route_text(self, path: str, query: dict[str, str]) -> None:
        self._send(200, b"plain words", "text/plain; charset=utf-8")

    def route_redirect(self, path: str, query: dict[str, str]) -> None:
        self._send(302, b"", extra={"Location": query["to"]})

    def route_big(self, path: str, query: dict[str, str]) -> None:
        self._send(200, b"x" * int(query["n"]), "application/octet-stream")

    def route_stream(self, path: str, query: dict[str, str]) -> None:
        # No Content-Length: the body ends when the connection closes, so only counting can stop it.
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for _ in range(int(query["n"]) // 1000):
            self.wfile.write(b"y" * 1000)

    def route_slow(self, path: str, query: dict[str, str]) -> None:
        time.sleep(float(query["s"]))
        self._send(200, b"{}")


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.recorded = []  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def third_party(server: ThreadingHTTPServer) -> ThirdParty:
    server.recorded = []  # type: ignore[attr-defined]
    party = ThirdParty(f"http://127.0.0.1:{server.server_address[1]}")
    party.requests = server.recorded  # type: ignore[attr-defined]
    return party


def context(policy: EgressPolicy | None = None, **ids: Any) -> ActionContext:
    execution = ExecutionContext(
        action_execution_id="ae-1",
        workflow_name=ids.get("workflow_name", "wb.wf"),
        workflow_execution_id=ids.get("workflow_execution_id", "wf-1"),
        task_execution_id=ids.get("task_execution_id", "t-1"),
        task_name="one_plus_two",
        callback_base_url="http://tramontane.test:8989",
        callback_full_url="http://tramontane.test:8989/v2/action_executions/ae-1",
    )
    return ActionContext(execution, egress=policy)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------ std.mistral_http


def test_seed_example_sends_params_in_query_string_and_waits(third_party: ThirdParty) -> None:
    action = MistralHTTPAction(url=f"{third_party.url}/path", params={"a": 1, "b": 2})

    assert action.is_sync() is False
    assert action.run(context()) is None
    (request,) = third_party.requests
    assert (request.method, request.path, request.query) == ("GET", "/path", "a=1&b=2")


def test_mistral_headers_carry_ids_and_both_callback_urls(third_party: ThirdParty) -> None:
    MistralHTTPAction(url=third_party.url).run(context())

    headers = third_party.requests[0].headers
    assert headers["Mistral-Workflow-Name"] == "wb.wf"
    assert headers["Mistral-Workflow-Execution-Id"] == "wf-1"
    assert headers["Mistral-Task-Id"] == "t-1"
    assert headers["Mistral-Action-Execution-Id"] == "ae-1"
    assert headers["Mistral-Callback-URL"] == "http://tramontane.test:8989"
    assert headers["Mistral-Callback-Full-URL"] == "http://tramontane.test:8989/v2/action_executions/ae-1"


def test_mistral_headers_override_user_headers_and_skip_none(third_party: ThirdParty) -> None:
    action = MistralHTTPAction(url=third_party.url, method="POST", body={"k": "v"},
                               headers={"mistral-task-id": "spoofed", "X-Count": 3})
    action.run(context(workflow_name=None, task_execution_id=None, workflow_execution_id=None))

    request = third_party.requests[0]
    names = [name.lower() for name, _ in request.header_items]
    assert names.count("mistral-task-id") == 0
    assert "mistral-workflow-name" not in names
    assert request.headers["Mistral-Action-Execution-Id"] == "ae-1"
    assert request.headers["X-Count"] == "3"
    assert json.loads(request.body) == {"k": "v"}


def test_mistral_http_error_status_is_reported_at_once(third_party: ThirdParty) -> None:
    result = MistralHTTPAction(url=f"{third_party.url}/status/503").run(context())

    assert isinstance(result, Result) and result.is_error()
    assert result.error["status"] == 503
    assert result.error["content"] == {"code": 503}


def test_mistral_http_connection_refused_raises() -> None:
    with pytest.raises(ActionError, match="Failed to send HTTP request"):
        MistralHTTPAction(url=f"http://127.0.0.1:{free_port()}/").run(context())


def test_executor_passes_callback_urls_and_policy(third_party: ThirdParty) -> None:
    settings = Settings(public_url="http://svc.test:8989", http_max_response_bytes=100, http_deny_private=False)
    row = ActionRun(id="ae-77", name="mistral_http", input={"url": third_party.url, "params": {"a": 1, "b": 2}},
                    params={}, workflow_name="wf", workflow_execution_id=None, task_execution_id=None,
                    task_name=None)

    result, is_sync = _execute(row, settings)
    assert (result.data, result.error, is_sync) == (None, None, False)
    headers = third_party.requests[0].headers
    assert headers["Mistral-Callback-URL"] == "http://svc.test:8989"
    assert headers["Mistral-Callback-Full-URL"] == "http://svc.test:8989/v2/action_executions/ae-77"

    sync_row = ActionRun(id="ae-78", name="std.http", input={"url": f"{third_party.url}/big?n=500"}, params={},
                         workflow_name=None, workflow_execution_id=None, task_execution_id=None, task_name=None)
    result, is_sync = _execute(sync_row, settings)
    assert is_sync and "more than the limit of 100 bytes" in result.error



def test_http_result_describes_the_response(third_party: ThirdParty) -> None:
    result = HTTPAction(url=f"{third_party.url}/echo", params={"q": "x"}, auth="user:secret").run(context())

    assert result["status"] == 200
    assert result["content"] == {"path": "/echo", "query": {"q": "x"}}
    assert result["headers"]["Content-Type"] == "application/json"
    assert result["cookies"] == {"session": "abc"}
    assert result["reason"] == "OK"
    assert result["url"] == f"{third_party.url}/echo?q=x"
    assert result["history"] == [] and isinstance(result["elapsed"], float)
    assert third_party.requests[0].headers["Authorization"].startswith("Basic ")
    json.dumps(result)


def test_http_body_dict_is_json_and_text_content_stays_text(third_party: ThirdParty) -> None:
    result = HTTPAction(url=f"{third_party.url}/text", method="put", body={"a": [1, 2]}).run(context())

    request = third_party.requests[0]
    assert request.method == "PUT" and json.loads(request.body) == {"a": [1, 2]}
    assert request.headers["Content-Type"] == "application/json"
    assert result["content"] == "plain words"


def test_http_json_parameter_and_body_exclusive(third_party: ThirdParty) -> None:
    HTTPAction(url=third_party.url, method="POST", json=[1, "two"]).run(context())
    assert json.loads(third_party.requests[0].body) == [1, "two"]
    with pytest.raises(ActionError, match="Only one of the parameters"):
        HTTPAction(url=third_party.url, body="x", json={"a": 1})


def test_http_error_status_is_result_error(third_party: ThirdParty) -> None:
    result = HTTPAction(url=f"{third_party.url}/status/404").run(context())

    assert isinstance(result, Result) and result.error["status"] == 404
    assert HTTPAction(url=f"{third_party.url}/status/306").run(context())["status"] == 306


def test_http_connection_refused_is_an_action_error() -> None:
    with pytest.raises(ActionError, match="Failed to send HTTP request"):
        HTTPAction(url=f"http://127.0.0.1:{free_port()}/").run(context())


def test_http_follows_allowed_redirects(third_party: ThirdParty) -> None:
    result = HTTPAction(url=f"{third_party.url}/redirect?to=/echo").run(context())

    assert result["status"] == 200 and result["content"]["path"] == "/echo"
    assert [hop["status"] for hop in result["history"]] == [302]
    no_follow = HTTPAction(url=f"{third_party.url}/redirect?to=/echo", allow_redirects=False).run(context())
    assert no_follow["status"] == 302


def test_default_read_timeout_applies(third_party: ThirdParty) -> None:
    policy = EgressPolicy.create(read_timeout=0.3)
    with pytest.raises(ActionError, match="timed out"):
        HTTPAction(url=f"{third_party.url}/slow?s=1").run(context(policy))
    assert HTTPAction(url=f"{third_party.url}/slow?s=0.5", timeout=5).run(context(policy))["status"] == 200


def test_action_signatures_match_mistral() -> None:
    assert signature_text(HTTPAction) == (
        "url, method='GET', params=None, body=None, json=None, headers=None, cookies=None, auth=None, "
        "timeout=None, allow_redirects=None, proxies=None, verify=None"
    )
    assert registry.find("mistral_http") is MistralHTTPAction
    assert registry.find("std.http") is HTTPAction


def test_https_goes_through_the_guarded_connection(tmp_path: Path) -> None:
    cert_path, key_path = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_path, key_path)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.recorded = []  # type: ignore[attr-defined]
    httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}/echo"
    try:
        assert HTTPAction(url=url, verify=str(cert_path)).run(context())["status"] == 200
        with pytest.raises(ActionError, match="CERTIFICATE_VERIFY_FAILED"):
            HTTPAction(url=url).run(context())
        with pytest.raises(EgressDenied, match="127.0.0.0/8"):
            no_loopback = EgressPolicy.create(denied_cidrs=["127.0.0.0/8"])
            HTTPAction(url=url, verify=str(cert_path)).run(context(no_loopback))
    finally:
        httpd.shutdown()
        httpd.server_close()


# ------------------------------------------------------------------------------ outbound policy


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://100.100.100.200/",
    "http://0.0.0.0:1/",
])
def test_link_local_and_metadata_denied_by_default(url: str) -> None:
    with pytest.raises(EgressDenied, match="denied network"):
        HTTPAction(url=url).run(context())


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/"])
def test_only_http_and_https_schemes(url: str) -> None:
    with pytest.raises(EgressDenied, match="scheme"):
        HTTPAction(url=url).run(context())


def test_redirect_to_denied_address_is_refused(third_party: ThirdParty) -> None:
    target = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(EgressDenied, match=r"169\.254\.169\.254.*169\.254\.0\.0/16"):
        HTTPAction(url=f"{third_party.url}/redirect?to={target}").run(context())
    with pytest.raises(EgressDenied, match="scheme 'file'"):
        HTTPAction(url=f"{third_party.url}/redirect?to=file:///etc/passwd").run(context())


def test_deny_list_can_include_loopback(third_party: ThirdParty) -> None:
    policy = EgressPolicy.create(denied_cidrs=["127.0.0.0/8", "::1/128"])
    port = urlsplit(third_party.url).port

    with pytest.raises(EgressDenied, match=r"127\.0\.0\.1 is in denied network 127\.0\.0\.0/8"):
        HTTPAction(url=third_party.url).run(context(policy))
    with pytest.raises(EgressDenied, match="'localhost'"):
        HTTPAction(url=f"http://localhost:{port}/").run(context(policy))
    assert third_party.requests == []


def test_allow_list_admits_only_listed_hosts_and_wins_over_deny(third_party: ThirdParty) -> None:
    port = urlsplit(third_party.url).port
    policy = EgressPolicy.create(allowed_hosts=["localhost"], denied_cidrs=["127.0.0.0/8", "::1/128"])

    assert HTTPAction(url=f"http://localhost:{port}/echo").run(context(policy))["status"] == 200
    with pytest.raises(EgressDenied, match="not in the allowed hosts"):
        HTTPAction(url=f"{third_party.url}/echo").run(context(policy))
    with pytest.raises(EgressDenied, match="'127.0.0.1' is not in the allowed hosts"):
        HTTPAction(url=f"http://localhost:{port}/redirect?to={third_party.url}/echo").run(context(policy))
    assert len(third_party.requests) == 2
    wildcard = EgressPolicy.create(allowed_hosts=["*.example.org", "API.example.com."])
    assert wildcard.is_listed("a.b.example.org") and wildcard.is_listed("api.example.com")
    assert not wildcard.is_listed("example.org.evil.test") and not wildcard.is_listed("xexample.org")


def test_proxied_request_checks_the_target(third_party: ThirdParty) -> None:
    proxies = {"http": third_party.url}
    # The test server plays the proxy: it receives the absolute URL of the origin.
    via_proxy = HTTPAction(url="http://localhost:9/echo", proxies=proxies).run(context())
    assert via_proxy["status"] == 200 and third_party.requests.pop().headers["Host"] == "localhost:9"
    with pytest.raises(EgressDenied, match="169.254.169.254"):
        HTTPAction(url="http://169.254.169.254/", proxies=proxies).run(context())
    with pytest.raises(EgressDenied, match="proxy scheme 'socks5'"):
        HTTPAction(url=f"{third_party.url}/", proxies={"http": "socks5://127.0.0.1:1"}).run(context())
    assert third_party.requests == []


def test_response_cap_on_content_length_and_streamed_body(third_party: ThirdParty) -> None:
    policy = EgressPolicy.create(max_response_bytes=4000)

    assert len(HTTPAction(url=f"{third_party.url}/big?n=4000").run(context(policy))["content"]) == 4000
    with pytest.raises(ResponseTooLarge, match="declares 4001 bytes"):
        HTTPAction(url=f"{third_party.url}/big?n=4001").run(context(policy))
    with pytest.raises(ResponseTooLarge, match="larger than the limit of 4000 bytes"):
        HTTPAction(url=f"{third_party.url}/stream?n=50000").run(context(policy))
    head = HTTPAction(url=f"{third_party.url}/big?n=9000", method="HEAD").run(context(policy))
    assert head["status"] == 200


def test_policy_from_settings_is_built_once_and_adds_to_defaults() -> None:
    settings = Settings.from_env({
        "HTTP_ALLOWED_HOSTS": "", "HTTP_DENIED_CIDRS": " 127.0.0.0/8, 10.0.0.0/8 ",
        "HTTP_CONNECT_TIMEOUT": "3", "HTTP_READ_TIMEOUT": "7", "HTTP_MAX_RESPONSE_BYTES": "1024",
    })
    policy = egress.policy_from_settings(settings)

    assert policy is egress.policy_from_settings(settings)
    assert (policy.connect_timeout, policy.read_timeout, policy.max_response_bytes) == (3.0, 7.0, 1024)
    networks = {str(network) for network in policy.denied_networks}
    assert {"127.0.0.0/8", "10.0.0.0/8", "169.254.0.0/16", "fe80::/10"} <= networks
    allowed = Settings.from_env({"HTTP_ALLOWED_HOSTS": "a.example, b.example"})
    assert egress.policy_from_settings(allowed).allowed_hosts == ("a.example", "b.example")
    open_ = egress.policy_from_settings(Settings.from_env({"HTTP_DENY_PRIVATE": "false"}))
    assert open_ == EgressPolicy() and open_.resolve("127.0.0.1", 80) == ["127.0.0.1"]
    with pytest.raises(ValueError, match="Invalid CIDR"):
        EgressPolicy.create(denied_cidrs=["not-a-network"])


@pytest.mark.parametrize("address", [
    "::a9fe:a9fe",            # IPv4-compatible form of 169.254.169.254
    "::ffff:169.254.169.254",  # IPv4-mapped
    "64:ff9b::a9fe:a9fe",      # NAT64, well-known prefix
    "64:ff9b:1::a9fe:a9fe",    # NAT64, local-use prefix
    "2002:a9fe:a9fe::1",       # 6to4
])
def test_ipv4_addresses_inside_ipv6_ones_are_checked_as_ipv4(address: str) -> None:
    policy = EgressPolicy.create()

    assert str(policy.denying_network(ipaddress.ip_address(address))) == "169.254.0.0/16"
    assert policy.denying_network(ipaddress.ip_address("2002:0808:0808::1")) is None


def test_loopback_and_private_ranges_are_denied_by_default() -> None:
    policy = egress.policy_from_settings(Settings.from_env({}))

    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "::1", "fd00::1", "::7f00:1"):
        assert policy.denying_network(ipaddress.ip_address(address)) is not None, address
    assert policy.denying_network(ipaddress.ip_address("93.184.216.34")) is None
    with pytest.raises(EgressDenied, match="127.0.0.0/8"):
        policy.resolve("localhost", 80)
    with pytest.raises(ValueError, match="HTTP_DENY_PRIVATE must be true or false"):
        Settings.from_env({"HTTP_DENY_PRIVATE": "maybe"})


def test_actions_of_other_packages_get_the_policy_through_helpers(third_party: ThirdParty) -> None:
    denied = ActionContext(ExecutionContext(action_execution_id="ae-9"),
                           egress=EgressPolicy.create(denied_cidrs=["127.0.0.0/8"]))
    with pytest.raises(EgressDenied), egress.http_session(denied) as http:
        http.get(third_party.url)
    port = int(third_party.url.rsplit(":", 1)[1])
    with pytest.raises(EgressDenied):
        egress.connect(denied, "127.0.0.1", port)
    allowed = ActionContext(ExecutionContext(action_execution_id="ae-9"), egress=EgressPolicy.create())
    with egress.http_session(allowed) as http:
        assert http.get(third_party.url).status_code == 200
    egress.connect(allowed, "127.0.0.1", port).close()
