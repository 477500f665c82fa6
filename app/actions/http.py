"""``std.http`` and its asynchronous sibling ``std.mistral_http``.

Both send through :class:`~app.actions.egress.EgressSession`, so the outbound policy of the worker
(``context.egress``) applies to every connection, redirects included.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any

import requests

from app.actions.base import Action, ActionContext, ActionError, Result
from app.actions.egress import EgressDenied, EgressPolicy, EgressSession

# Mistral treats 2xx and the 3xx codes up to 306 as success (a 3xx is only seen with redirects off).
SUCCESS_STATUSES = range(200, 307)


def _stringify_headers(headers: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(headers, dict):
        return headers
    # requests refuses non-string header values; YAML makes `X-Count: 3` an int.
    return {
        key: str(value) if isinstance(value, (int, float)) else value for key, value in headers.items()
    }


def _auth(auth: Any) -> Any:
    if isinstance(auth, str) and ":" in auth:
        user, password = auth.split(":", 1)
        return user, password
    if isinstance(auth, list) and len(auth) == 2:
        return tuple(auth)
    return auth


def _timeout(timeout: Any) -> Any:
    if isinstance(timeout, list) and len(timeout) == 2:
        return tuple(timeout)
    return timeout


def _content(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def describe(response: requests.Response) -> dict[str, Any]:
    """The action result for ``response``: plain JSON values only."""
    return {
        "content": _content(response),
        "status": response.status_code,
        "headers": dict(response.headers.items()),
        "url": response.url,
        "history": [
            {"status": hop.status_code, "url": hop.url, "reason": hop.reason} for hop in response.history
        ],
        "encoding": response.encoding,
        "reason": response.reason,
        "cookies": dict(response.cookies.items()),
        "elapsed": response.elapsed.total_seconds(),
    }


class HTTPAction(Action):
    """Sends an HTTP request; the result describes the response, an error status fails the task."""

    def __init__(self, url: str, method: str = "GET", params: Any = None, body: Any = None,
                 json: Any = None, headers: dict[str, Any] | None = None, cookies: Any = None,
                 auth: Any = None, timeout: Any = None, allow_redirects: bool | None = None,
                 proxies: dict[str, str] | None = None, verify: Any = None) -> None:
        if body is not None and json is not None:
            raise ActionError("Only one of the parameters 'json' and 'body' can be passed")
        self.url = url
        self.method = str(method or "GET").upper()
        self.params = params
        self.body_is_json = isinstance(body, dict)
        self.body = jsonlib.dumps(body) if isinstance(body, dict) else body
        self.json = json
        self.headers = _stringify_headers(headers)
        self.cookies = cookies
        self.auth = _auth(auth)
        self.timeout = _timeout(timeout)
        self.allow_redirects = True if allow_redirects is None else bool(allow_redirects)
        self.proxies = proxies
        self.verify = True if verify is None else verify

    def request_headers(self, context: ActionContext) -> dict[str, Any]:
        headers = dict(self.headers or {})
        if self.body_is_json and not any(key.lower() == "content-type" for key in headers):
            headers["Content-Type"] = "application/json"
        return headers

    def send(self, context: ActionContext) -> requests.Response:
        policy = context.egress or EgressPolicy()
        try:
            with EgressSession(policy, context.outbound) as session:
                return session.request(
                    self.method, self.url, params=self.params, data=self.body, json=self.json,
                    headers=self.request_headers(context), cookies=self.cookies, auth=self.auth,
                    timeout=self.timeout, allow_redirects=self.allow_redirects, proxies=self.proxies,
                    verify=self.verify,
                )
        except EgressDenied:
            raise
        except (requests.RequestException, ValueError) as exc:
            raise ActionError(f"Failed to send HTTP request: {exc}") from exc

    def run(self, context: ActionContext) -> Any:
        result = describe(self.send(context))
        if result["status"] not in SUCCESS_STATUSES:
            return Result(error=result)
        return result


MISTRAL_HEADERS = (
    "Mistral-Workflow-Name",
    "Mistral-Workflow-Execution-Id",
    "Mistral-Task-Id",
    "Mistral-Action-Execution-Id",
    "Mistral-Callback-URL",
    "Mistral-Callback-Full-URL",
    "Mistral-Callback-Token",
)


class MistralHTTPAction(HTTPAction):
    """Sends the request and waits: the receiver completes the action through the API later.

    The request carries the ids and the callback URLs the receiver needs; a refused connection or
    an error status is reported at once, since no callback will follow.
    """

    def is_sync(self) -> bool:
        return False

    def request_headers(self, context: ActionContext) -> dict[str, Any]:
        execution = context.execution
        values = (
            execution.workflow_name,
            execution.workflow_execution_id,
            execution.task_execution_id,
            execution.action_execution_id,
            execution.callback_base_url or None,
            execution.callback_full_url or None,
            execution.callback_token or None,
        )
        ours = {name.lower() for name in MISTRAL_HEADERS}
        headers = {k: v for k, v in super().request_headers(context).items() if k.lower() not in ours}
        headers.update({name: str(value) for name, value in zip(MISTRAL_HEADERS, values, strict=True)
                        if value is not None})
        return headers

    def run(self, context: ActionContext) -> Any:
        result = describe(self.send(context))
        if result["status"] not in SUCCESS_STATUSES:
            return Result(error=result)
        return None
