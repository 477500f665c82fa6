"""DELETE /v2/action_executions/<id>: refused unless the operator allows it, as with Mistral's setting."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Settings
from app.extensions import db
from app.models import ActionExecution


def _action(flask_app: Flask, state: str) -> str:
    with flask_app.app_context():
        row = ActionExecution(name="std.echo", state=state, input={"output": 1})
        db.session.add(row)
        db.session.commit()
        return row.id


def test_deletion_is_refused_by_default(client: FlaskClient, flask_app: Flask) -> None:
    action_id = _action(flask_app, "SUCCESS")
    refused = client.delete(f"/v2/action_executions/{action_id}")
    assert refused.status_code == 403
    assert refused.get_json()["faultstring"] == "Action execution deletion is not allowed."


def test_allowed_deletion_takes_completed_actions_only(client: FlaskClient, flask_app: Flask, settings: Settings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(flask_app.config, "TRAMONTANE",
                        dataclasses.replace(settings, allow_action_execution_deletion=True))
    running = _action(flask_app, "RUNNING")
    refused = client.delete(f"/v2/action_executions/{running}")
    assert refused.status_code == 403
    assert refused.get_json()["faultstring"] == "Only completed action execution can be deleted."
    done = _action(flask_app, "SUCCESS")
    assert client.delete(f"/v2/action_executions/{done}").status_code == 204
    assert client.get(f"/v2/action_executions/{done}").status_code == 404
