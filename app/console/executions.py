"""Executions: the list with its filters and live rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, request
from sqlalchemy import Select, select
from sqlalchemy.orm import load_only

from app.console.present import duration
from app.console.web import redirect_to, render, route
from app.engine.states import COMPLETED
from app.extensions import session
from app.models import WorkflowDefinition, WorkflowExecution

PAGE_SIZE = 50
MAX_PAGE = 1_000_000
STATES = ("IDLE", "RUNNING", "PAUSED", "SUCCESS", "ERROR", "CANCELLED")
LIVE = ("IDLE", "RUNNING", "PAUSED")
LIST_COLUMNS = (WorkflowExecution.id, WorkflowExecution.workflow_name, WorkflowExecution.state,
                WorkflowExecution.state_info, WorkflowExecution.description, WorkflowExecution.created_at,
                WorkflowExecution.updated_at, WorkflowExecution.task_execution_id)


@route("/")
def home() -> Response:
    return redirect_to("executions")


class Filters:
    """The list's filters, read from the query string; a bad value is reported, not ignored."""

    def __init__(self, args: Any) -> None:
        self.state = args.get("state", "")
        self.workflow = args.get("workflow", "").strip()
        self.text = args.get("q", "").strip()
        self.since_text, self.until_text = args.get("since", ""), args.get("until", "")
        self.problems: list[str] = []
        self.since = self._time("since", self.since_text)
        self.until = self._time("until", self.until_text)
        if self.state and self.state not in STATES:
            self.problems.append(f"Unknown state {self.state!r}.")
            self.state = ""
        try:
            self.page = max(1, int(args.get("page", "1")))
        except ValueError:
            self.problems.append(f"The page {args.get('page')!r} is not a whole number.")
            self.page = 1
        if self.page > MAX_PAGE:
            # Its offset would not fit the database's integers; no list is that long anyway.
            self.problems.append(f"There is no page {self.page}: the last one possible is {MAX_PAGE}.")
            self.page = MAX_PAGE

    def _time(self, name: str, text: str) -> datetime | None:
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self.problems.append(f"The time {name!r} is not a date and time: {text!r}.")
            return None
        # The store's times are naive UTC; a time given with its offset is read in UTC.
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value

    def query(self) -> Select[Any]:
        query = select(WorkflowExecution).options(load_only(*LIST_COLUMNS))
        if self.state:
            query = query.where(WorkflowExecution.state == self.state)
        if self.workflow:
            query = query.where(WorkflowExecution.workflow_name == self.workflow)
        if self.text:
            escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(WorkflowExecution.description.ilike(f"%{escaped}%", escape="\\"))
        if self.since:
            query = query.where(WorkflowExecution.created_at >= self.since)
        if self.until:
            query = query.where(WorkflowExecution.created_at <= self.until)
        return query.order_by(WorkflowExecution.created_at.desc(), WorkflowExecution.id.desc())

    def args(self, **changes: Any) -> dict[str, Any]:
        values = {"state": self.state, "workflow": self.workflow, "q": self.text, "since": self.since_text,
                  "until": self.until_text, "page": self.page if self.page > 1 else None}
        values.update(changes)
        return {key: value for key, value in values.items() if value not in (None, "")}


def _page(filters: Filters) -> tuple[list[dict[str, Any]], bool]:
    rows = list(session().scalars(filters.query().offset((filters.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    items = [{
        "row": row, "live": row.state in LIVE,
        "duration": duration(row.created_at, (row.updated_at or row.created_at) if row.state in COMPLETED else None),
    } for row in rows[:PAGE_SIZE]]
    return items, len(rows) > PAGE_SIZE


@route("/executions")
def executions() -> Response:
    filters = Filters(request.args)
    items, more = _page(filters)
    names = session().scalars(select(WorkflowDefinition.name).distinct().order_by(WorkflowDefinition.name)).all()
    return render("console/executions.html", section="executions", title="Executions", filters=filters,
                  items=items, more=more, states=STATES, workflow_names=names)


@route("/executions/rows")
def execution_rows() -> Response:
    """The list's rows alone, polled while any of them is still running."""
    filters = Filters(request.args)
    items, _ = _page(filters)
    return render("console/_execution_rows.html", items=items)
