"""LOG_FORMAT=json: every process writes one JSON object per line, and the lines of one execution
can be found by its id across processes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from app.config import Settings
from app.embedded_redis import EmbeddedRedis
from tests.support.stack import LiveStack

WORKFLOW = """
version: '2.0'
json_logs_wf:
  tasks:
    hello:
      action: std.echo output=hi
"""


def test_every_line_of_every_process_is_a_json_object(settings: Settings, tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path / "redis", persistent=False)
    stack = LiveStack(replace(settings, redis_url=redis.start()), tmp_path / "stack",
                      extra_env={"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"})
    stack.start()
    try:
        stack.create_workflow(WORKFLOW)
        started = stack.post("/v2/executions", json={"workflow_name": "json_logs_wf"},
                             headers={"X-Request-ID": "json-logs-test"})
        execution_id = started.json()["id"]
        assert stack.wait_for_state(execution_id)["state"] == "SUCCESS"
        stack.wait_until_worker_idle()
    finally:
        stack.stop()
        redis.stop()

    parsed = {}
    for name in ("web", "worker", "scheduler"):
        lines = [line for line in stack.log(name).splitlines() if line.strip()]
        assert lines, name
        for line in lines:
            try:
                parsed.setdefault(name, []).append(json.loads(line))
            except ValueError:
                raise AssertionError(f"{name} wrote a line that is not JSON: {line!r}") from None
    access = [e for e in parsed["web"] if e["logger"] == "app.access" and e.get("request_id") == "json-logs-test"]
    assert access and access[0]["path"] == "/v2/executions" and access[0]["status"] == 201
    changes = [(e["previous_state"] if "previous_state" in e else None, e["state"])
               for name in ("web", "worker") for e in parsed[name]
               if e.get("execution_id") == execution_id and e["logger"] == "app.engine.states"]
    assert changes == [(None, "RUNNING"), ("RUNNING", "SUCCESS")], [
        e for name in ("web", "worker") for e in parsed[name] if e.get("execution_id") == execution_id]
