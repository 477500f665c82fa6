"""The benchmark's only way into Tramontane: its public REST API.

Completion is detected by polling, since the API offers no completion signal: ``GET
/v2/executions/<id>`` for one execution, and for a batch ``GET /v2/executions`` filtered by the
batch's description and ``state=RUNNING`` (one request per poll, however many executions). The
interval (``--poll-interval``, 15 ms by default) bounds the error of every measurement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

REQUEST_TIMEOUT = 60.0
TERMINAL_STATES = ("SUCCESS", "ERROR", "CANCELLED")


class BenchError(RuntimeError):
    pass


def api_root(url: str) -> str:
    """The service's root from a URL given with or without its ``/v2`` (Mistral's is usually
    written ``http://host:8989/v2``); the client adds ``/v2/...`` itself."""
    root = url.rstrip("/")
    return root[: -len("/v2")] if root.endswith("/v2") else root


class ApiClient:
    def __init__(self, base_url: str, poll_interval: float = 0.015, pool_size: int = 20) -> None:
        self.base_url = base_url.rstrip("/")
        self.poll_interval = poll_interval
        self.pool_size = pool_size
        self.http = requests.Session()

    # -- plain calls ---------------------------------------------------------------------------

    def check_answers(self, service: str) -> None:
        """One ``GET /v2/workflows?limit=1``; a clear error if the service does not answer it."""
        try:
            self._call("GET", "/v2/workflows", 200, params={"limit": "1"})
        except requests.RequestException as error:
            raise BenchError(f"{service} at {self.base_url}/v2 does not answer: {error}") from error
        except (BenchError, ValueError) as error:
            raise BenchError(f"{service} at {self.base_url}/v2 does not answer as a workflow API: "
                             f"{error}") from error

    def _call(self, method: str, path: str, expected: int, shared: bool = True, **kwargs: Any) -> Any:
        # requests.Session is not documented as thread-safe: calls made from a pool use a fresh one.
        http: Any = self.http if shared else requests
        response = http.request(method, f"{self.base_url}{path}", timeout=REQUEST_TIMEOUT, **kwargs)
        if response.status_code != expected:
            raise BenchError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def create_workflow(self, yaml_text: str) -> None:
        self._call("POST", "/v2/workflows", 201, data=yaml_text, headers={"Content-Type": "text/plain"})

    def start_execution(self, workflow_name: str, wf_input: dict[str, Any] | None = None,
                        description: str = "", shared: bool = True) -> str:
        body = {"workflow_name": workflow_name, "input": wf_input or {}, "description": description}
        execution_id: str = self._call("POST", "/v2/executions", 201, shared, json=body)["id"]
        return execution_id

    def execution_state(self, execution_id: str) -> str:
        body = self._call("GET", f"/v2/executions/{execution_id}", 200, params={"fields": "state"})
        state: str = body["state"]
        return state

    def executions_in_state(self, description: str, state: str, limit: int = 1000) -> list[dict[str, Any]]:
        params = {"description": description, "state": state, "fields": "id,state", "limit": str(limit)}
        body = self._call("GET", "/v2/executions", 200, params=params)
        executions: list[dict[str, Any]] = body["executions"]
        return executions

    def running_actions(self, workflow_name: str) -> list[str]:
        params = {"workflow_name": workflow_name, "state": "RUNNING", "fields": "id", "limit": "1000"}
        actions = self._call("GET", "/v2/action_executions", 200, params=params)["action_executions"]
        return [action["id"] for action in actions]

    def complete_action(self, action_execution_id: str, shared: bool = True) -> None:
        self._call("PUT", f"/v2/action_executions/{action_execution_id}", 200, shared,
                   json={"state": "SUCCESS", "output": {"done": True}})

    # -- batches: threads, so the requests overlap as independent clients' would ---------------

    def in_parallel(self, call: Callable[[Any], Any], arguments: Iterable[Any]) -> list[Any]:
        with ThreadPoolExecutor(max_workers=self.pool_size) as pool:
            return list(pool.map(call, arguments))

    def start_batch(self, workflow_name: str, count: int, description: str) -> list[str]:
        return self.in_parallel(
            lambda _: self.start_execution(workflow_name, description=description, shared=False), range(count)
        )

    def complete_actions(self, action_ids: list[str]) -> None:
        self.in_parallel(lambda action_id: self.complete_action(action_id, shared=False), action_ids)

    # -- waiting -------------------------------------------------------------------------------

    def wait_for_execution(self, execution_id: str, timeout: float) -> float:
        """Poll until the execution ends; return the monotonic time its SUCCESS was seen."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.execution_state(execution_id)
            now = time.monotonic()
            if state in TERMINAL_STATES:
                if state != "SUCCESS":
                    raise BenchError(f"execution {execution_id} ended {state}")
                return now
            if now > deadline:
                raise BenchError(f"execution {execution_id} still {state} after {timeout:g} s")
            time.sleep(self.poll_interval)

    def wait_for_end(self, execution_id: str, timeout: float) -> str:
        """Poll until the execution ends, whatever its end; return its state."""
        deadline = time.monotonic() + timeout
        while (state := self.execution_state(execution_id)) not in TERMINAL_STATES:
            if time.monotonic() > deadline:
                raise BenchError(f"execution {execution_id} still {state} after {timeout:g} s")
            time.sleep(self.poll_interval)
        return state

    def wait_for_batch(self, description: str, count: int, timeout: float) -> float:
        """Poll until no execution of the batch runs; return the time that was seen."""
        deadline = time.monotonic() + timeout
        while self.executions_in_state(description, "RUNNING", limit=1):
            if time.monotonic() > deadline:
                raise BenchError(f"batch {description} still running after {timeout:g} s")
            time.sleep(self.poll_interval)
        seen = time.monotonic()
        succeeded = len(self.executions_in_state(description, "SUCCESS"))
        if succeeded != count:
            raise BenchError(f"batch {description}: {succeeded} of {count} executions succeeded")
        return seen

    def wait_for_running_actions(self, workflow_name: str, count: int, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            actions = self.running_actions(workflow_name)
            if len(actions) >= count:
                return actions
            if time.monotonic() > deadline:
                raise BenchError(f"only {len(actions)} of {count} {workflow_name} actions running")
            time.sleep(0.05)
