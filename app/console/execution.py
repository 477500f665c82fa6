"""One execution: its data, graph, timeline and tasks, and the recovery operations."""

from __future__ import annotations

from flask import Response

from app.console.web import render, route
from app.resources.executions import get_execution


@route("/executions/<execution_id>")
def execution(execution_id: str) -> Response:
    row = get_execution(execution_id)
    return render("console/execution.html", section="executions", title=row.workflow_name, execution=row)
