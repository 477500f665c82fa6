"""Cron triggers: list, create, delete (the same operations as ``/v2/cron_triggers``)."""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import select

from app.console.forms import FormErrors, integer_value, json_value
from app.console.session import flash
from app.console.web import confirmation, form_text, redirect_to, render, route, url
from app.engine import cron
from app.engine.errors import EngineError
from app.engine.transactions import with_retries
from app.extensions import session
from app.models import CronTrigger, WorkflowDefinition
from app.resources.bodies import load_values
from app.resources.cron_triggers import CronTriggerSchema, new_trigger


def _page(errors: FormErrors | None = None, status: int = 200) -> Response:
    rows = session().scalars(select(CronTrigger).order_by(CronTrigger.next_execution_time, CronTrigger.name)).all()
    # By id: a name may stand in several namespaces, and the trigger starts the one chosen.
    choices = session().execute(select(WorkflowDefinition.id, WorkflowDefinition.name, WorkflowDefinition.namespace)
                                .order_by(WorkflowDefinition.name, WorkflowDefinition.namespace)).all()
    return render("console/cron_triggers.html", status=status, section="cron_triggers", title="Cron triggers",
                  rows=rows, workflows=choices, errors=errors or {}, form=request.form)


@route("/cron-triggers")
def cron_triggers() -> Response:
    return _page()


@route("/cron-triggers", methods=("POST",), endpoint="cron_trigger_create")
def create() -> Response:
    errors = FormErrors()
    name, workflow = form_text("name"), form_text("workflow")
    if not name:
        errors["name"] = "A name is required."
    if not workflow:
        errors["workflow"] = "Choose the workflow to start."
    workflow_input = json_value(errors, "workflow_input", "The input", dict, {})
    workflow_params = json_value(errors, "workflow_params", "The params", dict, {})
    remaining = integer_value(errors, "remaining_executions", "The number of executions")
    if errors:
        return _page(errors, 400)
    try:
        # The API's own schema: the same limits (name length, pattern length) and the same words.
        new = new_trigger(load_values(CronTriggerSchema(), "cron_trigger", {
            "name": name, "workflow_id": workflow, "workflow_input": workflow_input,
            "workflow_params": workflow_params, "pattern": form_text("pattern") or None,
            "first_execution_time": form_text("first_execution_time").replace("T", " ") or None,
            "remaining_executions": remaining}))
        with_retries(session(), lambda: cron.create(session(), new))
    except EngineError as exc:
        session().rollback()
        errors["form"] = str(exc)
        return _page(errors, exc.http_status)
    flash("ok", f"Cron trigger {name!r} created.")
    return redirect_to("cron_triggers")


@route("/cron-triggers/<name>/delete", methods=("POST",), endpoint="cron_trigger_delete")
def delete(name: str) -> Response:
    asked = confirmation(f"Delete the cron trigger {name!r}? It starts no more executions.", url("cron_triggers"))
    if asked is not None:
        return asked
    with_retries(session(), lambda: cron.delete_trigger(session(), name))
    flash("ok", f"Cron trigger {name!r} deleted.")
    return redirect_to("cron_triggers")
