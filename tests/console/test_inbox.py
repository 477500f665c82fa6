"""The inbox of actions waiting for a callback, in-process: what it lists and shows, and completing.

The worker's executor runs the async action in this process against a real local web service, so
the page shows a request that was truly sent.
"""

from __future__ import annotations

import dataclasses
import html
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Settings
from app.console import inbox
from app.engine.dispatch import CollectingDispatcher, ContinueAfterAction
from app.engine.service import Engine
from app.extensions import session
from app.models import ActionExecution
from app.workers import executor
from tests.console.conftest import csrf_of
from tests.support.third_party import ThirdParty

WORKFLOW = """
version: '2.0'
{name}:
  input: [url]
  tasks:
    approve:
      action: std.mistral_http
      input:
        url: <% $.url %>/approve?ticket=7&api_key=k3y
        headers:
          Authorization: Bearer s3cret
    nudge:
      action: std.async_noop
"""


@pytest.fixture()
def waiting(console: FlaskClient, console_app: Flask, settings: Settings) -> dict[str, Any]:
    """A started workflow whose two async actions wait: one sent a request, one sent nothing."""
    name = f"inbox_{uuid.uuid4().hex[:8]}"
    created = console.post("/v2/workflows", data=WORKFLOW.format(name=name), content_type="text/plain")
    assert created.status_code == 201, created.get_json()
    with ThirdParty(callback_route="") as third_party:
        started = console.post("/v2/executions", json={"workflow_name": name, "input": {"url": third_party.url}})
        assert started.status_code == 201
        execution_id = started.get_json()["id"]
        actions = _actions(console_app, execution_id)
        worker = dataclasses.replace(settings, http_deny_private=False, auth_enabled=True)
        with console_app.app_context():
            for action_id in actions.values():
                executor.run_action(session(), Engine(session(), CollectingDispatcher()), worker, action_id)
        received = third_party.requests[0]
    return {"workflow": name, "execution": execution_id, "received": received, "url": third_party.url, **actions}


def _actions(app: Flask, execution_id: str) -> dict[str, str]:
    with app.app_context():
        rows = session().query(ActionExecution).filter(ActionExecution.workflow_execution_id == execution_id).all()
        return {row.task_name: row.id for row in rows}


def _row(app: Flask, action_id: str) -> ActionExecution:
    with app.app_context():
        row = session().get(ActionExecution, action_id)
        assert row is not None
        session().expunge(row)
        return row


def _inbox(console: FlaskClient, workflow: str) -> str:
    page = console.get(f"/console/inbox?workflow={workflow}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _card(text: str, action_id: str) -> str:
    match = re.search(rf'<article[^>]*data-action="{action_id}".*?</article>', text, re.S)
    assert match, f"no card for {action_id}"
    return match.group(0)


def _complete(console: FlaskClient, action_id: str, **form: str) -> Any:
    data = {"csrf_token": csrf_of(console, "/console/inbox"), "confirmed": "1", **form}
    return console.post(f"/console/inbox/{action_id}/complete", data=data)


def test_the_inbox_lists_each_waiting_action_with_the_request_it_sent(
        console: FlaskClient, console_app: Flask, waiting: dict[str, Any]) -> None:
    text = _inbox(console, waiting["workflow"])
    sent = html.unescape(_card(text, waiting["approve"]))
    assert f"{waiting['workflow']} › approve" in sent
    assert f'href="/console/executions/{waiting["execution"]}"' in sent
    assert re.search(r"Waiting for</dt><dd data-age>\d", sent)
    assert f"GET {waiting['url']}/approve?ticket=7&api_key=***" in sent
    received = waiting["received"]["headers"]
    for header in ("Mistral-Workflow-Name", "Mistral-Workflow-Execution-Id", "Mistral-Task-Id",
                   "Mistral-Action-Execution-Id", "Mistral-Callback-URL"):
        assert f">{header}</th><td class=\"mono\">{received[header]}</td>" in sent, header
    assert ">Mistral-Callback-Token</th><td class=\"mono\">***</td>" in sent
    assert ">Authorization</th><td class=\"mono\">***</td>" in sent
    for secret in ("s3cret", "k3y", received["Mistral-Callback-Token"]):
        assert secret not in text, secret
    nothing_sent = _card(text, waiting["nudge"])
    assert "No HTTP request was recorded" in nothing_sent
    # Each completion's controls carry a label.
    for control in (f'for="output-{waiting["approve"]}"', f'for="error-{waiting["approve"]}"',
                    'aria-label="Cancel the action'):
        assert control in sent
    # Oldest first (ties by id).
    rows = [_row(console_app, waiting[task]) for task in ("approve", "nudge")]
    expected = [row.id for row in sorted(rows, key=lambda row: (row.created_at, row.id))]
    assert re.findall(r'<article[^>]*data-action="([^"]+)"', text) == expected


def test_the_polled_fragment_is_the_list_alone(console: FlaskClient, waiting: dict[str, Any]) -> None:
    fragment = console.get(f"/console/inbox/rows?workflow={waiting['workflow']}")
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "<nav" not in body
    assert "2 actions are waiting." in body
    assert f'data-action="{waiting["approve"]}"' in body and f'data-action="{waiting["nudge"]}"' in body


def test_completing_with_success_asks_first_then_goes_through_the_engine_once(
        console: FlaskClient, console_app: Flask, waiting: dict[str, Any]) -> None:
    action_id = waiting["approve"]
    csrf = csrf_of(console, "/console/inbox")
    asked = console.post(f"/console/inbox/{action_id}/complete",
                         data={"csrf_token": csrf, "state": "SUCCESS", "output": '{"approved": true}'})
    assert asked.status_code == 200 and "Complete with SUCCESS" in asked.get_data(as_text=True)
    assert _row(console_app, action_id).state == "RUNNING"

    dispatcher: CollectingDispatcher = console_app.extensions["tramontane.dispatcher"]
    dispatcher.sent.clear()
    back = f"/console/inbox?workflow={waiting['workflow']}"
    done = _complete(console, action_id, state="SUCCESS", output='{"approved": true}', back=back)
    assert done.status_code == 303 and done.headers["Location"] == back
    row = _row(console_app, action_id)
    assert (row.state, row.output) == ("SUCCESS", {"result": {"approved": True}})
    assert ContinueAfterAction(action_id) in dispatcher.sent  # the workflow goes on in a worker
    page = console.get(back).get_data(as_text=True)
    assert f"{waiting['workflow']} › approve: completed with SUCCESS" in html.unescape(page)
    assert f'data-action="{action_id}"' not in page

    again = _complete(console, action_id, state="ERROR", error="too late", back=back)
    assert again.status_code == 303
    refused = html.unescape(console.get(back).get_data(as_text=True))
    assert (f"Refused (409 Conflict): Action execution {action_id} is already completed [state=SUCCESS]; "
            "the completion was refused.") in refused
    assert _row(console_app, action_id).output == {"result": {"approved": True}}


def test_invalid_json_is_shown_and_nothing_is_sent(
        console: FlaskClient, console_app: Flask, waiting: dict[str, Any]) -> None:
    action_id = waiting["approve"]
    refused = _complete(console, action_id, state="SUCCESS", output='{"approved": tru}')
    assert refused.status_code == 400
    card = html.unescape(_card(refused.get_data(as_text=True), action_id))
    assert "The output is not valid JSON: Expecting value: line 1 column 14 (char 13). Nothing was sent." in card
    assert '{"approved": tru}</textarea>' in card  # what was typed stays
    assert _row(console_app, action_id).state == "RUNNING"


@pytest.mark.parametrize("state,form,output", [
    ("ERROR", {"error": "the approver said no"}, {"result": "the approver said no"}),
    ("ERROR", {"error": ""}, {"result": "Unknown error"}),
    ("CANCELLED", {}, {"result": None}),
])
def test_error_and_cancel(console: FlaskClient, console_app: Flask, waiting: dict[str, Any], state: str,
                          form: dict[str, str], output: dict[str, Any]) -> None:
    answer = _complete(console, waiting["nudge"], state=state, **form)
    assert answer.status_code == 303 and answer.headers["Location"] == "/console/inbox"
    said = html.unescape(console.get("/console/inbox").get_data(as_text=True))
    assert f"{waiting['workflow']} › nudge: {inbox.DONE[state]}" in said
    row = _row(console_app, waiting["nudge"])
    assert (row.state, row.output) == (state, output)


def test_refusals(console: FlaskClient, waiting: dict[str, Any]) -> None:
    no_csrf = console.post(f"/console/inbox/{waiting['approve']}/complete", data={"state": "SUCCESS", "confirmed": "1"})
    assert no_csrf.status_code == 403
    unknown_state = _complete(console, waiting["approve"], state="PAUSED")
    assert unknown_state.status_code == 400
    assert "Unknown completion &#39;PAUSED&#39;" in unknown_state.get_data(as_text=True)
    unknown_action = _complete(console, "no-such-action", state="CANCELLED")
    assert unknown_action.status_code == 404
    assert "ActionExecution not found [id=no-such-action]" in unknown_action.get_data(as_text=True)
    # A link elsewhere is not followed after the completion.
    elsewhere = _complete(console, waiting["nudge"], state="CANCELLED", back="https://elsewhere.test/")
    assert elsewhere.headers["Location"] == "/console/inbox"
    # Nor a way out by dot segments, nor a header smuggled in (that was a 500).
    for back in ("/console/inbox/../executions", "/console/inbox?\r\nX-Injected: 1"):
        again = _complete(console, waiting["nudge"], state="CANCELLED", back=back)
        assert again.status_code == 303 and again.headers["Location"] == "/console/inbox", back
        assert "X-Injected" not in again.headers
    bad_marker = console.get("/console/inbox?marker=nope")
    assert bad_marker.status_code == 404


def test_pages_follow_one_another(console: FlaskClient, waiting: dict[str, Any],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox, "DEFAULT_LIMIT", 1)
    first = _inbox(console, waiting["workflow"])
    link = re.search(r'href="(/console/inbox\?[^"]*marker=[^"]+)">Newer', html.unescape(first))
    assert link, "no link to the next page"
    second = console.get(html.unescape(link.group(1))).get_data(as_text=True)
    ids = [re.findall(r'data-action="([^"]+)"', text) for text in (first, second)]
    assert sorted(ids[0] + ids[1]) == sorted([waiting["approve"], waiting["nudge"]])
    assert "2 actions are waiting; 1 on this page." in first


def test_the_waiting_list_needs_a_session_when_authentication_is_on(secured: FlaskClient) -> None:
    assert secured.get("/console/inbox").status_code == 303
    assert secured.get("/console/inbox/rows?fragment=1").status_code == 401
