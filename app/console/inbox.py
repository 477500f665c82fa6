"""Waiting for a callback: every async action still RUNNING, oldest first, and its completion.

The list is ``app.engine.waiting``'s; completing goes through the engine operation behind
``PUT /v2/action_executions/<id>``, with its compare-and-set, so of a callback and a click (or two
clicks) exactly one completes the action and the other is told why it was refused (the API's 409).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, request

from app.console.forms import FormErrors, json_value
from app.console.present import duration, time_text
from app.console.session import flash
from app.console.web import confirmation, form_text, local_path, render, route, see_other, url
from app.engine.errors import Conflict, EngineError
from app.engine.waiting import DEFAULT_LIMIT, WaitingAction, WaitingPage, waiting_actions
from app.extensions import session
from app.models import ActionExecution
from app.resources.common import engine

STATES = ("SUCCESS", "ERROR", "CANCELLED")
# The words of each completion's button and question.
VERBS = {"SUCCESS": "Complete with SUCCESS", "ERROR": "Fail with ERROR", "CANCELLED": "Cancel"}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# What the flash says once it is done, for an action of a workflow and for one run on its own.
DONE = {"SUCCESS": "completed with SUCCESS; the workflow goes on.",
        "ERROR": "completed with ERROR; the task fails and the workflow follows its on-error, if any.",
        "CANCELLED": "cancelled; its task and its workflow end CANCELLED."}
DONE_ALONE = {"SUCCESS": "completed with SUCCESS.", "ERROR": "completed with ERROR.", "CANCELLED": "cancelled."}


def _item(action: WaitingAction) -> dict[str, Any]:
    sent = action.sent_request
    since = _sent_at(sent) or action.created_at
    headers = sorted((sent or {}).get("headers", {}).items(),
                     key=lambda pair: (not pair[0].lower().startswith("mistral-"), pair[0].lower()))
    return {"action": action, "age": duration(since, None), "since": time_text(since), "sent": sent,
            "headers": headers, "label": _label(action)}


def _sent_at(sent: dict[str, Any] | None) -> datetime | None:
    try:
        return datetime.strptime(str((sent or {}).get("sent_at")), TIME_FORMAT)
    except ValueError:
        return None


def _label(action: WaitingAction | ActionExecution) -> str:
    if action.workflow_name and action.task_name:
        return f"{action.workflow_name} › {action.task_name}"
    return action.name


def _page() -> tuple[WaitingPage, dict[str, str]]:
    """The page the query string asks for, and that query (``marker``, ``workflow``) for its links."""
    query = {key: request.args.get(key, "").strip() for key in ("marker", "workflow")}
    page = waiting_actions(session(), DEFAULT_LIMIT, query["marker"] or None, query["workflow"] or None)
    return page, {key: value for key, value in query.items() if value}


@route("/inbox")
def inbox() -> Response:
    page, query = _page()
    return render("console/inbox.html", section="inbox", title="Waiting for a callback", page=page,
                  items=[_item(a) for a in page.actions], query=query, back=url("inbox", **query), errors={},
                  form={})


@route("/inbox/rows")
def inbox_rows() -> Response:
    """The waiting actions alone, polled by the page (the script keeps what is being typed)."""
    page, query = _page()
    return render("console/_inbox_rows.html", page=page, items=[_item(a) for a in page.actions],
                  back=url("inbox", **query), errors={}, form={})


@route("/inbox/<action_execution_id>/complete", methods=("POST",), endpoint="inbox_complete")
def complete(action_execution_id: str) -> Response:
    state = form_text("state")
    if state not in STATES:
        raise EngineError(f"Unknown completion {state!r}: one of {', '.join(STATES)}.")
    errors = FormErrors()
    output = _output(errors, state, action_execution_id)
    if errors:
        return _again(errors)
    row = session().get(ActionExecution, action_execution_id)
    label = _label(row) if row is not None else action_execution_id
    done = DONE if row is not None and row.workflow_execution_id else DONE_ALONE
    session().rollback()
    asked = confirmation(f"{VERBS[state]}: {label} (action execution {action_execution_id})?", _back())
    if asked is not None:
        return asked
    try:
        engine().complete_action(action_execution_id, state, output)
    except Conflict as exc:
        session().rollback()
        flash("error", f"Refused (409 Conflict): {exc}")
        return see_other(_back())
    flash("ok", f"{label}: {done[state]}")
    return see_other(_back())


def _back() -> str:
    """The inbox page the form was sent from (its filter and page), never another address."""
    inbox_url = url("inbox")
    back = form_text("back")
    return back if local_path(back, inbox_url) and back.partition("?")[0] == inbox_url else inbox_url


def _output(errors: FormErrors, state: str, action_execution_id: str) -> Any:
    """SUCCESS: the output typed as JSON (checked here too, for a browser without the script);
    ERROR: the message; CANCELLED: nothing."""
    if state == "ERROR":
        return form_text("error") or None
    if state != "SUCCESS":
        return None
    key = f"output-{action_execution_id}"
    output = json_value(errors, "output", "The output", key=key)
    if key in errors:
        errors[key] += " Nothing was sent."
    return output


def _again(errors: FormErrors) -> Response:
    """The inbox again, the refused form showing its problem and what was typed."""
    page, query = _page()
    return render("console/inbox.html", status=400, section="inbox", title="Waiting for a callback", page=page,
                  items=[_item(a) for a in page.actions], query=query, back=_back(), errors=errors,
                  form=request.form)
