"""An async action's execution shows the request it sent (secrets masked); a sync one shows none.

The API runs in-process and the worker's executor runs the actions in this process too, against a
real local web service: what is checked is what the service received and what the API then shows.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.config import Settings
from app.engine.service import Engine
from app.extensions import session
from app.masking import MASK
from app.workers import executor
from tests.api.conftest import CollectingDispatcher
from tests.support.third_party import ThirdParty

WORKFLOW = """
version: '2.0'
{name}:
  input: [url]
  tasks:
    ask:
      action: std.mistral_http
      input:
        url: <% $.url %>/ask?a=1&api_key=k3y
        headers:
          Authorization: Bearer s3cret
          X-Trace: visible
        cookies:
          session: c00kie
    look:
      action: std.http
      input:
        url: <% $.url %>/look
"""


def _start(client: FlaskClient, url: str) -> dict[str, dict[str, Any]]:
    """Start the workflow; its action executions by task name."""
    name = f"sent_request_{uuid.uuid4().hex[:8]}"
    created = client.post("/v2/workflows", data=WORKFLOW.format(name=name), content_type="text/plain")
    assert created.status_code == 201, created.get_json()
    started = client.post("/v2/executions", json={"workflow_name": name, "input": {"url": url}})
    assert started.status_code == 201, started.get_json()
    tasks = client.get(f"/v2/executions/{started.get_json()['id']}/tasks").get_json()["tasks"]
    return {task["name"]: client.get(f"/v2/tasks/{task['id']}/action_executions").get_json()["action_executions"][0]
            for task in tasks}


def _run(flask_app: Flask, settings: Settings, dispatcher: CollectingDispatcher, action_id: str) -> None:
    """What the worker does with the action's message."""
    with flask_app.app_context():
        executor.run_action(session(), Engine(session(), dispatcher), settings, action_id)


def _worker_settings(settings: Settings) -> Settings:
    # The third party listens on the loopback; with authentication on the callback carries a capability.
    return dataclasses.replace(settings, http_deny_private=False, auth_enabled=True)


def test_an_async_action_shows_what_it_sent_with_secrets_masked_and_a_sync_one_shows_nothing(
        client: FlaskClient, flask_app: Flask, settings: Settings, dispatcher: CollectingDispatcher) -> None:
    with ThirdParty(callback_route="") as third_party:
        actions = _start(client, third_party.url)
        assert actions["ask"]["sent_request"] is None  # not sent yet
        for action in actions.values():
            _run(flask_app, _worker_settings(settings), dispatcher, action["id"])
        received = {record["path"]: record for record in third_party.requests}

    ask = client.get(f"/v2/action_executions/{actions['ask']['id']}").get_json()
    assert ask["state"] == "RUNNING"
    sent = ask["sent_request"]
    assert (sent["method"], sent["url"]) == ("GET", f"{third_party.url}/ask?a=1&api_key={MASK}")
    headers = sent["headers"]
    got = received["/ask"]["headers"]
    # The Mistral-* headers the third party received, the capability masked wherever it travels.
    assert got["Mistral-Callback-Token"] and headers["Mistral-Callback-Token"] == MASK
    assert got["Mistral-Callback-Full-URL"].endswith(f"?token={got['Mistral-Callback-Token']}")
    assert headers["Mistral-Callback-Full-URL"] == (f"{settings.public_url}/v2/action_executions/"
                                                    f"{ask['id']}?token={MASK}")
    for name in ("Mistral-Workflow-Name", "Mistral-Workflow-Execution-Id", "Mistral-Task-Id",
                 "Mistral-Action-Execution-Id", "Mistral-Callback-URL", "X-Trace"):
        assert headers[name] == got[name], name
    assert headers["Mistral-Action-Execution-Id"] == ask["id"]
    assert got["Authorization"] == "Bearer s3cret" and headers["Authorization"] == MASK
    assert "c00kie" in got["Cookie"] and headers["Cookie"] == MASK
    # (The action's input shows what the workflow gave it, as in Mistral; the record hides it.)
    for secret in ("s3cret", "c00kie", "k3y", got["Mistral-Callback-Token"]):
        assert secret not in json.dumps(sent), secret
    assert got["Mistral-Callback-Token"] not in json.dumps(ask)
    assert sent["sent_at"] >= ask["created_at"]

    look = client.get(f"/v2/action_executions/{actions['look']['id']}").get_json()
    assert look["state"] == "SUCCESS" and "/look" in received
    assert look["sent_request"] is None


def test_the_task_listing_and_fields_show_it_and_a_body_cannot_set_it(
        client: FlaskClient, flask_app: Flask, settings: Settings, dispatcher: CollectingDispatcher) -> None:
    with ThirdParty(callback_route="") as third_party:
        actions = _start(client, third_party.url)
        _run(flask_app, _worker_settings(settings), dispatcher, actions["ask"]["id"])
    task_id = actions["ask"]["task_execution_id"]
    listed = client.get(f"/v2/tasks/{task_id}/action_executions").get_json()["action_executions"][0]
    assert listed["sent_request"]["headers"]["Mistral-Task-Id"] == task_id
    only = client.get(f"/v2/action_executions/{actions['ask']['id']}?fields=sent_request").get_json()
    assert set(only) == {"id", "sent_request"} and only["sent_request"] == listed["sent_request"]
    narrowed = client.get(f"/v2/tasks/{task_id}/action_executions?fields=sent_request").get_json()
    assert narrowed["action_executions"] == [{"id": actions["ask"]["id"], "sent_request": listed["sent_request"]}]
    # Mistral's refusal text offers Mistral's fields only.
    unknown = client.get(f"/v2/tasks/{task_id}/action_executions?fields=nope").get_json()["faultstring"]
    assert unknown.endswith("created_at, updated_at, params]")

    refused = client.put(f"/v2/action_executions/{actions['ask']['id']}",
                         json={"state": "SUCCESS", "sent_request": {"method": "GET"}})
    assert refused.status_code == 400
    assert "sent_request" in refused.get_json()["faultstring"]


def test_a_request_no_server_took_is_not_recorded(
        client: FlaskClient, flask_app: Flask, settings: Settings, dispatcher: CollectingDispatcher) -> None:
    actions = _start(client, "http://127.0.0.1:9")  # the discard port: nothing listens there
    _run(flask_app, _worker_settings(settings), dispatcher, actions["ask"]["id"])
    ask = client.get(f"/v2/action_executions/{actions['ask']['id']}").get_json()
    assert ask["state"] == "ERROR" and "Failed to send HTTP request" in ask["output"]
    assert ask["sent_request"] is None


def test_the_openapi_document_describes_the_extension(client: FlaskClient) -> None:
    schemas = client.get("/v2/openapi.json").get_json()["components"]["schemas"]
    field = schemas["ActionExecution"]["properties"]["sent_request"]
    assert "Extension (not in Mistral)" in field["description"]
    assert "sent_request" in schemas["ActionExecution"]["required"]
    described = schemas["SentRequest"]
    assert set(described["properties"]) == {"method", "url", "headers", "sent_at"}


def test_a_callback_that_comes_before_the_send_ends_keeps_both_the_result_and_the_record(
        client: FlaskClient, flask_app: Flask, settings: Settings, dispatcher: CollectingDispatcher) -> None:
    """The third party completes the action while its request is still being answered."""
    completions: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server naming
            action_id = self.headers["Mistral-Action-Execution-Id"]
            with flask_app.app_context():
                completions.append(Engine(session(), dispatcher).complete_action(action_id, "SUCCESS", "fast").state)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        actions = _start(client, f"http://127.0.0.1:{server.server_address[1]}")
        _run(flask_app, _worker_settings(settings), dispatcher, actions["ask"]["id"])
    finally:
        server.shutdown()
        server.server_close()
    assert completions == ["SUCCESS"]
    ask = client.get(f"/v2/action_executions/{actions['ask']['id']}").get_json()
    assert (ask["state"], json.loads(ask["output"])) == ("SUCCESS", {"result": "fast"})
    assert ask["sent_request"]["headers"]["Mistral-Action-Execution-Id"] == ask["id"]
