"""Bad input gets a 4xx JSON error naming the problem, and nothing is half-created."""

from __future__ import annotations

import uuid

from flask.testing import FlaskClient


def _post_yaml(client: FlaskClient, text: str):
    return client.post("/v2/workflows", data=text, content_type="text/plain")


def _workflow_names(client: FlaskClient) -> set[str]:
    return {w["name"] for w in client.get("/v2/workflows").get_json()["workflows"]}


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_yaml_syntax_error_names_line_and_column(client: FlaskClient) -> None:
    response = _post_yaml(client, "version: '2.0'\nwf:\n  tasks: [unclosed\n  other: 1\n")
    assert response.status_code == 400
    body = response.get_json()
    assert "could not be parsed" in body["faultstring"]
    assert "line 4, column" in body["faultstring"]


def test_every_validation_problem_is_reported_at_once_and_nothing_is_stored(client: FlaskClient) -> None:
    good, bad = _unique("good"), _unique("bad")
    text = f"""
version: '2.0'
{good}:
  tasks:
    only:
      action: std.noop
{bad}:
  colour: blue
  tasks:
    first:
      action: std.noop
      workflow: other
      on-success: nowhere
    second:
      action: std.echo output=<% $.x +  %>
      unknown-key: 1
"""
    response = _post_yaml(client, text)
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    joined = "\n".join(errors)
    assert f"{bad}.colour: unknown key" in joined
    assert f"{bad}.tasks.first: 'action' and 'workflow' cannot be used together" in joined
    assert "Task 'nowhere' not found." in joined
    assert f"{bad}.tasks.second.unknown-key: unknown key" in joined
    assert f"{bad}.tasks.second.action" in joined
    assert len(errors) >= 5
    assert response.get_json()["faultstring"].count("\n") >= 5
    assert good not in _workflow_names(client)
    assert bad not in _workflow_names(client)


def test_missing_version_and_empty_body(client: FlaskClient) -> None:
    response = _post_yaml(client, "wf:\n  tasks:\n    t: {}\n")
    assert response.status_code == 400
    assert "version" in response.get_json()["faultstring"]
    empty = _post_yaml(client, "   ")
    assert empty.status_code == 400
    assert "version" in empty.get_json()["faultstring"]


def test_duplicate_workflow_is_a_conflict(client: FlaskClient) -> None:
    name = _unique("dup")
    text = f"version: '2.0'\n{name}:\n  tasks:\n    t:\n      action: std.noop\n"
    assert _post_yaml(client, text).status_code == 201
    again = _post_yaml(client, text)
    assert again.status_code == 409
    assert name in again.get_json()["faultstring"]


def test_unknown_workflow_gives_404_and_missing_field_400(client: FlaskClient) -> None:
    unknown = client.post("/v2/executions", json={"workflow_name": "no_such_workflow"})
    assert unknown.status_code == 404
    assert "no_such_workflow" in unknown.get_json()["faultstring"]
    missing = client.post("/v2/executions", json={"input": {}})
    assert missing.status_code == 400
    assert "Workflow ID or workflow name must be provided" in missing.get_json()["faultstring"]
    not_json = client.post("/v2/executions", data="{oops", content_type="application/json")
    assert not_json.status_code == 400
    bad_input = client.post("/v2/executions", json={"workflow_name": "x", "input": "[1, 2]"})
    assert bad_input.status_code == 400
    assert bad_input.get_json()["faultstring"] == "JsonType field value must be a dictionary [actual=[1, 2]]"


def test_invalid_workflow_input_is_rejected_before_anything_is_stored(client: FlaskClient) -> None:
    name = _unique("needs_input")
    text = f"version: '2.0'\n{name}:\n  input: [required_one]\n  tasks:\n    t:\n      action: std.noop\n"
    assert _post_yaml(client, text).status_code == 201
    before = len(client.get(f"/v2/executions?workflow_name={name}").get_json()["executions"])
    response = client.post("/v2/executions", json={"workflow_name": name, "input": {"stray": 1}})
    assert response.status_code == 400
    fault = response.get_json()["faultstring"]
    assert "missing=['required_one']" in fault
    assert "unexpected=['stray']" in fault
    after = len(client.get(f"/v2/executions?workflow_name={name}").get_json()["executions"])
    assert before == after == 0


def test_unknown_execution_and_task_are_404(client: FlaskClient) -> None:
    assert client.get("/v2/executions/nope").status_code == 404
    assert client.get("/v2/tasks/nope").status_code == 404
    assert client.get("/v2/workflows/nope").status_code == 404
    assert client.get("/v2/no-such-resource").get_json()["faultstring"]


def test_vars_evaluated_in_the_start_request_obey_the_size_limits(client: FlaskClient) -> None:
    name = _unique("hostile_vars")
    text = f"""
version: '2.0'
{name}:
  vars:
    big: "{{{{ (9 ** 1000) ** 10000 > 1 }}}}"
  tasks:
    only:
      action: std.noop
"""
    assert _post_yaml(client, text).status_code == 201
    before = len(client.get("/v2/executions").get_json()["executions"])

    response = client.post("/v2/executions", json={"workflow_name": name})

    assert response.status_code == 400
    assert "integers above 100000 bits are refused" in response.get_json()["faultstring"]
    assert len(client.get("/v2/executions").get_json()["executions"]) == before


def test_deeply_nested_bodies_are_a_clear_400(client: FlaskClient) -> None:
    deep_yaml = "version: '2.0'\ndeep_yaml_wf: " + "[" * 20000 + "]" * 20000
    response = _post_yaml(client, deep_yaml)
    assert response.status_code == 400
    assert "nested too deeply" in response.get_json()["faultstring"]
    deep_json = '{"workflow_name": "x", "input": ' + "[" * 100000 + "]" * 100000 + "}"
    response = client.post("/v2/executions", data=deep_json, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.get_json()["faultstring"]
    assert "deep_yaml_wf" not in _workflow_names(client)


def test_a_body_that_is_not_utf8_is_refused_not_mangled(client: FlaskClient) -> None:
    name = _unique("latin1")
    text = f"version: '2.0'\n{name}:\n  description: caf\xe9\n  tasks:\n    t:\n      action: std.noop\n"
    response = client.post("/v2/workflows", data=text.encode("latin-1"), content_type="text/plain")
    assert response.status_code == 400
    assert "not valid UTF-8: byte 0xe9 at position" in response.get_json()["faultstring"]
    assert name not in _workflow_names(client)
    assert _post_yaml(client, text).status_code == 201  # the same text in UTF-8 is fine


def test_a_name_with_a_slash_is_kept_as_mistral_keeps_it_and_its_id_reaches_it(client: FlaskClient) -> None:
    name = f"{_unique('team')}/nightly"
    created = _post_yaml(client, f"version: '2.0'\n{name}:\n  tasks:\n    t:\n      action: std.noop\n")
    assert created.status_code == 201
    workflow_id = created.get_json()["workflows"][0]["id"]
    # As in Mistral, the name cannot travel in a path; the id can.
    assert client.get(f"/v2/workflows/{workflow_id}").get_json()["name"] == name
    assert client.delete(f"/v2/workflows/{workflow_id}").status_code == 204
    assert name not in _workflow_names(client)
