"""The seed's example, unchanged: ``mistral_http`` calls a web service that calls back later."""

from __future__ import annotations

import json

import pytest

from app.embedded_redis import find_free_port
from tests.support.stack import LiveStack
from tests.support.third_party import ThirdParty

SEED = """
---
  version: '2.0'

  my_workflow:
    tasks:
      one_plus_two:
        action: mistral_http url={url}
        input:
          params:
            a: 1
            b: 2
"""


@pytest.mark.parametrize("route", [
    "POST /v2/action-executions/{id}",
    "POST /v2/action_executions/{id}",
    "PUT /v2/action_executions/{id}",
    "PUT /v2/action-executions/{id}",
])
def test_seed_workflow_waits_for_the_web_service_callback(stack: LiveStack, route: str) -> None:
    with ThirdParty(callback_route=route) as service:
        name = f"my_workflow_{route.split()[0].lower()}_{'hyphen' if '-' in route else 'underscore'}"
        stack.create_workflow(SEED.format(url=service.url).replace("my_workflow", name))
        execution = stack.start_execution(name)
        done = stack.wait_for_state(execution["id"])
        assert done["state"] == "SUCCESS", done
        (request,) = service.requests
        assert request["query"] == "a=1&b=2"
        headers = request["headers"]
        task = stack.tasks_of(execution["id"])[0]
        action = stack.get(f"/v2/tasks/{task['id']}/action_executions").json()["action_executions"][0]
        assert headers["Mistral-Workflow-Name"] == name
        assert headers["Mistral-Workflow-Execution-Id"] == execution["id"]
        assert headers["Mistral-Task-Id"] == task["id"]
        assert headers["Mistral-Action-Execution-Id"] == action["id"]
        assert headers["Mistral-Callback-URL"] == stack.base_url
        assert headers["Mistral-Callback-Full-URL"] == f"{stack.base_url}/v2/action_executions/{action['id']}"
        assert [r.status_code for r in service.callback_responses] == [200]
        assert json.loads(stack.get(f"/v2/tasks/{task['id']}").json()["result"]) == 3
        assert action["state"] == "SUCCESS"


def test_unreachable_web_service_fails_the_task_at_once(stack: LiveStack) -> None:
    url = f"http://127.0.0.1:{find_free_port()}/nobody-listens"
    stack.create_workflow(SEED.format(url=url).replace("my_workflow", "seed_unreachable"))
    execution = stack.start_execution("seed_unreachable")
    done = stack.wait_for_state(execution["id"], timeout=30)
    assert done["state"] == "ERROR"
    task = stack.tasks_of(execution["id"])[0]
    assert "Failed to send HTTP request" in task["state_info"] or "Connection refused" in task["state_info"]
