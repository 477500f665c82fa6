"""A real local web service playing the third party of an async action.

It records every request (path, query, headers) and, when asked to, calls back through one of the
completion routes with the sum of the query parameters ``a`` and ``b``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests


class ThirdParty:
    def __init__(self, callback_route: str = "POST /v2/action-executions/{id}", use_full_url: bool = False) -> None:
        self.use_full_url = use_full_url
        self.requests: list[dict[str, Any]] = []
        self.callback_route = callback_route
        self.callback_responses: list[requests.Response] = []
        self.received = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ThirdParty:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        third_party = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server naming
                parsed = urlparse(self.path)
                record = {"path": parsed.path, "query": parsed.query, "params": parse_qs(parsed.query),
                          "headers": dict(self.headers.items())}
                third_party.requests.append(record)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"accepted")
                third_party.received.set()
                if third_party.callback_route:
                    threading.Thread(target=third_party.call_back, args=(record,), daemon=True).start()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def call_back(self, record: dict[str, Any]) -> None:
        headers = record["headers"]
        total = sum(int(record["params"][key][0]) for key in ("a", "b"))
        method, route = self.callback_route.split(" ", 1)
        url = headers["Mistral-Callback-URL"] + route.format(id=headers["Mistral-Action-Execution-Id"])
        if self.use_full_url:
            url = headers["Mistral-Callback-Full-URL"]
        response = requests.request(method, url, json={"state": "SUCCESS", "output": total}, timeout=10)
        self.callback_responses.append(response)
