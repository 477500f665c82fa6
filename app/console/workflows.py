"""Workflows: list, one definition with its graph and start form, upload and validation."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from sqlalchemy import select
from sqlalchemy.orm import load_only

from app.console import graphs
from app.console.forms import FormErrors, json_value
from app.console.present import pretty_yaml
from app.console.session import flash
from app.console.web import form_text, redirect_to, render, route
from app.engine import definitions, limits
from app.engine.errors import DSLError, EngineError, WorkflowNotFound
from app.extensions import db, session
from app.models import Environment, WorkflowDefinition
from app.resources.common import engine, write

UPLOAD_EXAMPLE = """version: '2.0'

my_workflow:
  input:
    - name
  tasks:
    hello:
      action: std.echo output="Hello, <% $.name %>"
"""


@route("/workflows")
def workflows() -> Response:
    text = request.args.get("q", "").strip()
    query = select(WorkflowDefinition).options(load_only(
        WorkflowDefinition.id, WorkflowDefinition.name, WorkflowDefinition.namespace, WorkflowDefinition.spec,
        WorkflowDefinition.tags, WorkflowDefinition.created_at, WorkflowDefinition.updated_at))
    if text:
        query = query.where(WorkflowDefinition.name.contains(text, autoescape=True))
    rows = session().scalars(query.order_by(WorkflowDefinition.namespace, WorkflowDefinition.name)).all()
    items = [{"row": row, "input": definitions.input_text(row.spec)} for row in rows]
    return render("console/workflows.html", section="workflows", title="Workflows", items=items, q=text)


def _workflow(workflow_id: str) -> WorkflowDefinition:
    row = db.session.get(WorkflowDefinition, workflow_id)
    if row is None:
        raise WorkflowNotFound(f"Workflow not found [workflow_identifier={workflow_id}]")
    return row


def _inputs(row: WorkflowDefinition) -> list[dict[str, Any]]:
    """The declared inputs, each with its default as JSON (None: the input is required)."""
    fields: list[dict[str, Any]] = []
    for index, item in enumerate(row.spec.get("input") or []):
        if isinstance(item, dict):
            (name, default), = item.items()
            fields.append({"name": str(name), "field": f"input-{index}", "default": json.dumps(default)})
        else:
            fields.append({"name": str(item), "field": f"input-{index}", "default": None})
    return fields


def _page(row: WorkflowDefinition, errors: FormErrors | None = None, status: int = 200) -> Response:
    saved = session().scalars(select(Environment.name).order_by(Environment.name)).all()
    # A reverse workflow runs the tasks a target task requires: the form asks which.
    targets = sorted(row.spec.get("tasks") or {}) if row.spec.get("type") == "reverse" else []
    return render("console/workflow.html", status=status, section="workflows", title=row.name, workflow=row,
                  definition=pretty_yaml(row.definition), graph=graphs.definition_svg(row.definition, row.name),
                  inputs=_inputs(row), errors=errors or {}, form=request.form, environments=saved,
                  targets=targets)


@route("/workflows/<workflow_id>")
def workflow(workflow_id: str) -> Response:
    return _page(_workflow(workflow_id))


@route("/workflows/<workflow_id>/start", methods=("POST",), endpoint="workflow_start")
def start(workflow_id: str) -> Response:
    row = _workflow(workflow_id)
    errors = FormErrors()
    wf_input: dict[str, Any] = {}
    for item in _inputs(row):
        if item["field"] not in request.form:
            continue
        text = form_text(item["field"])
        if not text and item["default"] is not None:
            continue  # left empty: the declared default applies
        if not text:
            errors[item["field"]] = f"The input {item['name']!r} is required (a JSON value, \"text\" in quotes)."
            continue
        wf_input[item["name"]] = json_value(errors, item["field"], f"The input {item['name']!r}")
    extra = json_value(errors, "extra_input", "The other input", dict, {})
    env = json_value(errors, "env", "The env", dict, None)
    params: dict[str, Any] = json_value(errors, "params", "The params", dict, {})
    if errors:
        return _page(row, errors, 400)
    saved_env = form_text("env_name")
    if env or saved_env:
        params["env"] = env or saved_env
    if form_text("task_name"):
        params["task_name"] = form_text("task_name")  # a reverse workflow runs up to this task
    try:
        wf_ex = engine().start_workflow(row.id, row.namespace, {**extra, **wf_input}, params,
                                        form_text("description"))
    except EngineError as exc:
        session().rollback()
        errors["form"] = str(exc)
        return _page(row, errors, exc.http_status)
    flash("ok", f"Execution {wf_ex.id} started.")
    return redirect_to("execution", execution_id=wf_ex.id)


def _problems(exc: DSLError) -> list[tuple[str, str]]:
    """Each problem as (path, message); the engine writes them as ``path: message``."""
    pairs = []
    for problem in exc.problems:
        path, sep, message = problem.partition(": ")
        pairs.append((path, message) if sep else ("", problem))
    return pairs


@route("/workflows/new", methods=("GET", "POST"), endpoint="workflow_upload")
def upload() -> Response:
    text, problems, valid, status = "", [], False, 200
    namespace = form_text("namespace")
    if request.method == "POST":
        sent = request.files.get("file")
        text = sent.read().decode("utf-8", errors="replace") if sent and sent.filename else request.form.get(
            "definition", "")
        try:
            limits.check_definition(text)
            definitions.validate_workflows(text)
            valid = True
        except DSLError as exc:
            problems, status = _problems(exc), 400
        except EngineError as exc:
            problems, status = [("", str(exc))], 400
        if valid and request.form.get("action") == "create":
            update = request.form.get("update") == "1"
            try:
                rows = write(lambda: definitions.create_workflows(session(), text, namespace, update=update))
            except EngineError as exc:
                session().rollback()
                problems, valid, status = [("", str(exc))], False, exc.http_status
            else:
                flash("ok", ("Updated: " if update else "Created: ") + ", ".join(r.name for r in rows))
                return redirect_to("workflow", workflow_id=rows[0].id)
    return render("console/workflow_upload.html", status=status, section="workflows", title="Upload a workflow",
                  text=text or UPLOAD_EXAMPLE, problems=problems, valid=valid, namespace=namespace,
                  checked=request.method == "POST")
