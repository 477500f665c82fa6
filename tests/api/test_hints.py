"""A newcomer's mistakes are answered with Mistral's own text, then a line saying what to do.

The first line of each faultstring is exactly what Mistral 23 answers (recorded in
conformance/expected/rest_ex_newcomer_mistakes.json), so clients matching on it keep working.
"""

from __future__ import annotations

import json
import uuid

import pytest
from flask.testing import FlaskClient


def _fault(response) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    text = response.get_json()["faultstring"]
    first, _, hint = text.partition("\nHint: ")
    return first, hint


@pytest.fixture()
def workflow(client: FlaskClient) -> str:
    name = f"greet_{uuid.uuid4().hex[:8]}"
    definition = f"""
version: '2.0'
{name}:
  input:
    - name
    - greeting: Hello
    - punctuation
  tasks:
    t1:
      action: std.noop
"""
    assert client.post("/v2/workflows", data=definition, content_type="text/plain").status_code == 201
    return name


def test_json_sent_as_a_form_or_without_a_type_says_to_send_json(client: FlaskClient, workflow: str) -> None:
    body = json.dumps({"workflow_name": workflow, "input": {"name": "a", "punctuation": "!"}})
    for content_type in ("application/x-www-form-urlencoded", None):  # curl -d; requests' data= alone
        response = client.post("/v2/executions", data=body, content_type=content_type)
        assert response.status_code == 400
        first, hint = _fault(response)
        assert first == f'Unknown argument: "{body}"'
        assert "Content-Type: application/json" in hint and "curl -d" in hint

    text = client.post("/v2/executions", data=body, content_type="text/plain")
    assert text.status_code == 415
    assert _fault(text) == ("Unknown mimetype: text/plain", _fault(text)[1])
    assert "Content-Type: application/json" in _fault(text)[1]
    update = client.put(f"/v2/executions/{uuid.uuid4()}", data='{"state": "PAUSED"}')  # no type at all
    assert update.status_code == 415 and _fault(update)[0] == "Unknown mimetype: "
    assert client.get("/v2/executions").get_json()["executions"] == [] or all(
        e["workflow_name"] != workflow for e in client.get("/v2/executions").get_json()["executions"])


def test_an_empty_body_without_a_type_is_left_to_the_endpoint(client: FlaskClient) -> None:
    response = client.post("/v2/executions")
    assert response.status_code == 400 and "Hint" not in response.get_json()["faultstring"]


def test_yaml_sent_as_json_is_shown_as_the_json_it_meant(client: FlaskClient, workflow: str) -> None:
    response = client.post("/v2/executions", content_type="application/json",
                           data=f"workflow_name: {workflow}\ninput:\n  name: a\n  punctuation: '!'\n")
    assert response.status_code == 400
    first, hint = _fault(response)
    assert first == "Request is not in valid JSON format"
    assert f'{{"workflow_name": "{workflow}", "input": {{"name": "a", "punctuation": "!"}}}}' in hint

    definition = client.post("/v2/executions", content_type="application/json",
                             data="version: '2.0'\nsome_wf:\n  tasks:\n    t1:\n      action: std.noop\n")
    first, hint = _fault(definition)
    assert first == "Request is not in valid JSON format" and "POST /v2/workflows" in hint
    # Text that is neither JSON nor a YAML mapping gets Mistral's answer alone.
    plain = client.post("/v2/executions", data="not json at all", content_type="application/json")
    assert plain.get_json()["faultstring"] == "Request is not in valid JSON format"


def test_an_unknown_workflow_name_suggests_close_names(client: FlaskClient, workflow: str) -> None:
    typo = workflow[:-1]
    response = client.post("/v2/executions", json={"workflow_name": typo})
    assert response.status_code == 404
    first, hint = _fault(response)
    assert first == f"Workflow not found [workflow_identifier={typo}, namespace=]"
    assert f"did you mean '{workflow}'" in hint and "GET /v2/workflows" in hint

    far = client.post("/v2/executions", json={"workflow_name": "qqqqqqqqqqqqqqqqqqqqq"})
    assert "no workflow has a name close to 'qqqqqqqqqqqqqqqqqqqqq'" in _fault(far)[1]
    by_id = client.post("/v2/executions", json={"workflow_id": str(uuid.uuid4())})
    assert by_id.status_code == 404 and "no workflow has this id" in _fault(by_id)[1]


def test_a_workflow_of_another_namespace_is_named(client: FlaskClient) -> None:
    name = f"team_{uuid.uuid4().hex[:8]}"
    definition = f"version: '2.0'\n{name}:\n  tasks:\n    t1:\n      action: std.noop\n"
    assert client.post("/v2/workflows?namespace=team-a", data=definition,
                       content_type="text/plain").status_code == 201
    first, hint = _fault(client.post("/v2/executions", json={"workflow_name": name}))
    assert first == f"Workflow not found [workflow_identifier={name}, namespace=]"
    assert "namespace 'team-a'" in hint and "workflow_namespace" in hint


def test_a_missing_input_shows_the_workflows_input(client: FlaskClient, workflow: str) -> None:
    response = client.post("/v2/executions", json={"workflow_name": workflow, "input": {"name": "a"}})
    assert response.status_code == 400
    first, hint = _fault(response)
    assert first == f"Invalid input [name={workflow}, class=DirectWorkflowSpec, missing=['punctuation']]"
    assert f'{workflow} takes the input name, greeting="Hello", punctuation' in hint
    assert "required (no default): name, punctuation" in hint and "given: name" in hint

    unexpected = client.post("/v2/executions", json={"workflow_name": workflow,
                                                     "input": {"name": "a", "punctuation": "!", "colour": 1}})
    first, hint = _fault(unexpected)
    assert first.endswith("unexpected=['colour']]") and "takes the input" in hint
