"""``GET /v2/openapi.json``: a valid OpenAPI 3 document that covers exactly the live routes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from app.config import Settings
from app.engine.dispatch import CollectingDispatcher
from app.factory import create_app
from app.openapi import build_document

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# Not part of the API.
# The server's static files, the docs page (HTML for people, over this very document) and the console.
NOT_API_ENDPOINTS = {"static", "apidocs.page", "apidocs.init_script", "apidocs.asset", "console"}


def _shape(path: str) -> str:
    """``/v2/actions/<name>`` and ``/v2/actions/{identifier}`` are the same path for OpenAPI."""
    return re.sub(r"<[^<>]+>|\{[^{}]+\}", "{}", path)


def _concrete(rule: str) -> list[str]:
    """A rule with an ``any(a, b)`` converter stands for one path per value."""
    match = re.search(r"<any\(([^)]*)\):[^<>]+>", rule)
    if match is None:
        return [rule]
    return [path for value in match.group(1).split(",")
            for path in _concrete(rule[:match.start()] + value.strip() + rule[match.end():])]


def _routes(app: Flask) -> dict[tuple[str, str], str]:
    """(path shape, METHOD) -> "METHOD /rule (endpoint)" for every route of the API."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_API_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for path in _concrete(rule.rule):
                routes[(_shape(path), method)] = f"{method} {path} ({rule.endpoint})"
    return routes


def _documented(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (_shape(path), method.upper()): f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def _missing(app: Flask, document: dict[str, Any]) -> list[str]:
    documented = _documented(document)
    return sorted(label for key, label in _routes(app).items() if key not in documented)


@pytest.fixture(scope="module")
def document(flask_app: Flask) -> dict[str, Any]:
    with flask_app.test_client() as client:
        response = client.get("/v2/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def test_the_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_route_of_the_url_map_is_documented_with_its_methods(flask_app: Flask,
                                                                   document: dict[str, Any]) -> None:
    missing = _missing(flask_app, document)
    assert not missing, (
        "Routes missing from the OpenAPI document; describe each endpoint in app.openapi.OPERATIONS:\n  "
        + "\n  ".join(missing))


def test_every_documented_operation_is_a_live_route(flask_app: Flask, document: dict[str, Any]) -> None:
    routes = _routes(flask_app)
    phantom = sorted(label for key, label in _documented(document).items() if key not in routes)
    assert not phantom, "Documented operations that no route serves:\n  " + "\n  ".join(phantom)


def test_a_route_added_without_documentation_is_named(settings: Settings) -> None:
    app = create_app(settings, dispatcher=CollectingDispatcher())
    app.add_url_rule("/v2/brand_new/<thing_id>", "brand_new.poke", lambda thing_id: "", methods=["PATCH"])
    assert _missing(app, build_document(app)) == ["PATCH /v2/brand_new/<thing_id> (brand_new.poke)"]


def test_the_document_is_generated_from_the_marshmallow_schemas(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in ("Workflow", "Workbook", "Action", "Execution", "Task", "ActionExecution", "Environment",
                 "CronTrigger", "ExecutionReport", "Error", "ExecutionCreate", "RunAction"):
        assert name in schemas, name
    error = schemas["Error"]
    assert set(error["properties"]) == {"faultcode", "faultstring", "debuginfo", "errors"}
    # The text endpoints answer only a faultstring, as Mistral's do.
    assert set(error["required"]) == {"faultstring"}
    # JSON-typed fields are JSON text on the wire, as in Mistral.
    for name, field in (("Execution", "input"), ("Execution", "params"), ("Task", "published"),
                        ("Task", "result"), ("ActionExecution", "output"), ("Environment", "variables"),
                        ("Workflow", "interface"), ("CronTrigger", "workflow_input")):
        prop = schemas[name]["properties"][field]
        assert prop["type"] == "string", (name, field)
        assert "JSON" in prop["description"], (name, field)
    # ... except a workflow's interface where its creation returns it.
    assert schemas["WorkflowSaved"]["properties"]["interface"] == {"$ref": "#/components/schemas/WorkflowInterface"}
    assert schemas["Execution"]["properties"]["created_at"]["pattern"] == r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"


def test_collections_have_their_envelope_and_an_optional_next_link(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name, key in (("WorkflowList", "workflows"), ("ExecutionList", "executions"), ("TaskList", "tasks"),
                      ("ActionExecutionList", "action_executions"), ("EnvironmentList", "environments"),
                      ("CronTriggerList", "cron_triggers"), ("WorkbookList", "workbooks"),
                      ("ActionList", "actions")):
        assert set(schemas[name]["properties"]) == {key, "next"}, name
        assert schemas[name]["required"] == [key], name


def test_definitions_are_uploaded_as_text(document: dict[str, Any]) -> None:
    for path, method in (("/v2/workflows", "post"), ("/v2/workflows", "put"), ("/v2/workbooks", "post"),
                         ("/v2/actions", "post"), ("/v2/workflows/validate", "post")):
        content = document["paths"][path][method]["requestBody"]["content"]
        assert list(content) == ["text/plain"], (path, method)
        assert content["text/plain"]["schema"]["type"] == "string"


def test_list_operations_take_the_list_parameters(document: dict[str, Any]) -> None:
    listing = {"limit", "marker", "sort_keys", "sort_dirs", "fields"}
    for path in ("/v2/workflows", "/v2/workbooks", "/v2/actions", "/v2/executions", "/v2/tasks",
                 "/v2/action_executions", "/v2/environments", "/v2/cron_triggers",
                 "/v2/executions/{execution_id}/tasks"):
        names = {p["name"] for p in document["paths"][path]["get"]["parameters"] if p["in"] == "query"}
        assert listing <= names, path
    executions = {p["name"] for p in document["paths"]["/v2/executions"]["get"]["parameters"]}
    assert {"include_output", "nulls", "state", "workflow_name"} <= executions
    workflow = document["paths"]["/v2/workflows/{identifier}"]["get"]["parameters"]
    assert {"in": "path", "name": "identifier", "required": True, "description": "Name or id.",
            "schema": {"type": "string"}} in workflow
    assert any(p["name"] == "namespace" and p["in"] == "query" for p in workflow)


def test_statuses_are_the_ones_the_service_answers(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert "201" in paths["/v2/workflows"]["post"]["responses"]
    assert "201" in paths["/v2/executions"]["post"]["responses"]
    assert "204" in paths["/v2/executions/{execution_id}"]["delete"]["responses"]
    assert "content" not in paths["/v2/executions/{execution_id}"]["delete"]["responses"]["204"]
    assert "404" in paths["/v2/executions/{execution_id}"]["get"]["responses"]
    assert "200" in paths["/v2/action_executions/{action_execution_id}"]["put"]["responses"]
    assert "409" in paths["/v2/action_executions/{action_execution_id}"]["put"]["responses"]


def test_the_document_is_served_to_clients(client: FlaskClient) -> None:
    first = client.get("/v2/openapi.json").get_json()
    assert first == client.get("/v2/openapi.json").get_json()
    assert first["info"]["title"] == "Tramontane"
