"""A small REST client for one Mistral-compatible API (the real Mistral or Tramontane)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

TERMINAL = ("SUCCESS", "ERROR", "CANCELLED")
# Tasks in these states may still change after their workflow ended (a running action finishes).
UNSETTLED = ("RUNNING", "IDLE", "WAITING", "DELAYED")


class CaseFailed(RuntimeError):
    """Raised when a case cannot be carried out (a wait timed out, a task never appeared)."""


class Api:
    def __init__(self, base_url: str, poll_seconds: float = 0.1, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.poll_seconds = poll_seconds
        self.timeout = timeout
        self.http = requests.Session()
        # A kept-alive connection the server closes just as a request goes out is reset; any HTTP
        # client sends a read again on a new connection. Writes are never repeated: a second POST
        # could do the thing twice, and the case would then judge the client, not the server.
        retry = Retry(total=3, connect=3, read=3, status=0, other=0, backoff_factor=0.1,
                      allowed_methods=frozenset({"GET", "HEAD"}), raise_on_status=False)
        self.http.mount("http://", HTTPAdapter(max_retries=retry))

    def call(self, method: str, path: str, *, json_body: Any = None, text: str | None = None,
             content_type: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        sent = dict(headers or {})
        data: str | bytes | None = None
        if text is not None:
            data = text.encode()
            sent.setdefault("Content-Type", content_type or "text/plain")
        elif json_body is not None:
            data = json.dumps(json_body)
            sent.setdefault("Content-Type", content_type or "application/json")
        elif content_type:
            sent["Content-Type"] = content_type
        response = self.http.request(method, self.base_url + path, data=data, headers=sent, timeout=30)
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return response.status_code, body

    def get(self, path: str) -> Any:
        status, body = self.call("GET", path)
        if status != 200:
            raise CaseFailed(f"GET {path} answered {status}: {body}")
        return body

    def wait_for(self, what: str, condition: Callable[[], Any], timeout: float | None = None) -> Any:
        """Poll ``condition`` until it returns something truthy."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise CaseFailed(f"timed out waiting for {what}")
            time.sleep(self.poll_seconds)
