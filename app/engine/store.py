"""The store port of the step machinery: every query and write a :class:`~app.engine.runtime.Step`
and its helpers make, in one place.

The step machinery (``runtime``, ``launch``, ``joins``, ``control``, ``rerun``, ``subworkflows``,
``workflow_items``, ``views``) reads and writes only through :class:`Store`; :class:`SqlStore` is
the SQLAlchemy implementation over the caller's session. The caller (the engine service) owns the
transaction: nothing here commits.

The rows themselves (``WorkflowExecution``, ``TaskExecution``, ``ActionExecution``) are the mapped
classes of :mod:`app.models`, changed in place by the step; the store adds new ones and answers
queries about the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, bindparam, case, exists, literal, literal_column, null, or_, select, union_all, update
from sqlalchemy.orm import Session

from app.engine import adhoc, definitions, step_writes, timers
from app.engine.adhoc import ResolvedAction
from app.engine.driver_statements import DriverStatement
from app.engine.expressions import ExecutionView
from app.engine.row_loading import read_rows
from app.engine.states import COMPLETED, State
from app.engine.transactions import TASK_ROWS, lock_workflow
from app.models import ActionExecution, TaskExecution, WorkflowDefinition, WorkflowExecution, utc_now

Row = WorkflowExecution | TaskExecution | ActionExecution
# (in_context, published) of a task: what it hands to the tasks it starts, or to the workflow's end.
Outbound = tuple[dict[str, Any], dict[str, Any]]
# (id, state, output) of one run of a task: an action execution or a sub-workflow execution.
Run = tuple[str, str, Any]


@dataclass(frozen=True)
class TaskFilter:
    """Tasks of a workflow in one of ``states`` (and with that ``error_handled``, when given)."""

    states: tuple[str, ...]
    error_handled: bool | None = None


class Store(Protocol):
    """What the step machinery asks of the database. Tasks come in creation order unless said."""

    # -- tasks ---------------------------------------------------------------------------------
    def task(self, task_id: str) -> TaskExecution | None: ...

    def join_task(self, unique_key: str) -> TaskExecution | None: ...

    def tasks(self, workflow_id: str, states: Iterable[str] | None = None, processed: bool | None = None,
              error_handled: bool | None = None, joins_only: bool = False) -> list[TaskExecution]: ...

    def latest_task(self, workflow_id: str, name: str) -> TaskExecution | None: ...

    def has_task_in(self, workflow_id: str, states: Iterable[str]) -> bool: ...

    def has_tasks(self, workflow_id: str, filters: Sequence[TaskFilter]) -> list[bool]:
        """For each filter, whether a task of the workflow matches it: one question to the database."""
        ...

    def answers_and_ends(self, workflow_id: str, filters: Sequence[TaskFilter],
                         open_filters: int) -> tuple[list[bool], list[Outbound] | None]:
        """:meth:`has_tasks`' answers and, when no task matches the first ``open_filters`` filters
        (the workflow is over), what ``outbound(ends_only=True)`` gives (else None): one question."""
        ...

    def task_names(self, workflow_id: str, state: str | None = None) -> set[str]: ...

    def names_of_tasks(self, task_ids: Iterable[str]) -> dict[str, str]: ...

    def outbound(self, workflow_id: str, succeeded_only: bool = False,
                 ends_only: bool = False) -> list[Outbound]:
        """(in_context, published) of the workflow's succeeded tasks, or of its processed tasks
        that started nothing (``ends_only``), in creation order."""
        ...

    # -- actions and sub-workflows of a task ---------------------------------------------------
    def actions(self, task_id: str, states: Iterable[str] | None = None,
                accepted: bool | None = None) -> list[ActionExecution]:
        """The task's action executions in item order."""
        ...

    def accepted_results(self, task_id: str) -> list[tuple[str, Any]]:
        """(state, output) of the task's accepted action executions, in item order."""
        ...

    def next_idle_action(self, task_id: str) -> ActionExecution | None: ...

    def count_actions(self, task_id: str, state: str) -> int: ...

    def update_actions(self, task_id: str, values: dict[str, Any], states: Iterable[str] | None = None) -> None:
        """Set ``values`` on the task's action executions (in ``states`` only, when given)."""
        ...

    def fail_open_actions(self, task_id: str, output: dict[str, Any]) -> list[ActionExecution]:
        """End the task's RUNNING, PAUSED or IDLE action executions in ERROR with ``output``; returns
        them as they were before (their state is the previous one)."""
        ...

    def has_answered_result(self, task_id: str) -> bool:
        """Whether an action of the task was completed (and answered) but its continuation has not
        run yet."""
        ...

    def last_run_name(self, task_id: str) -> str | None: ...

    def runs(self, task_id: str) -> tuple[list[Run], list[Run]]:
        """The task's action executions and sub-workflow executions, in the order they ran."""
        ...

    def child_executions(self, task_id: str) -> list[WorkflowExecution]: ...

    def lock_children(self, workflow_id: str, states: Iterable[str]) -> list[WorkflowExecution]:
        """Sub-workflow executions of the workflow's tasks in ``states``, locked (parent first)."""
        ...

    # -- executions ----------------------------------------------------------------------------
    def workflow_params(self, workflow_id: str) -> dict[str, Any]: ...

    def executions(self, project_id: str | None, id: str | None = None,  # noqa: A002
                   root_execution_id: str | None = None, state: str | None = None,
                   from_time: datetime | None = None, to_time: datetime | None = None,
                   limit: int = 10_000) -> list[WorkflowExecution]: ...

    # -- definitions ---------------------------------------------------------------------------
    def resolve_action(self, name: str, given: dict[str, Any], namespace: str, workbook: str | None,
                       view: ExecutionView) -> ResolvedAction: ...

    def resolve_workflow(self, name: str, parent: WorkflowExecution) -> WorkflowDefinition: ...

    # -- writes --------------------------------------------------------------------------------
    def add(self, row: Row) -> None: ...

    def schedule_timer(self, kind: str, target_id: str, seconds: float,
                       payload: dict[str, Any] | None = None) -> None: ...

    def cancel_timers(self, workflow_id: str) -> None: ...


# Built once (each step of a fan-in or with-items asks them), and handed to the driver as text.
_JOIN_TASK = DriverStatement(
    select(*TASK_ROWS.columns).where(TaskExecution.__table__.c.unique_key == bindparam("unique_key")).limit(1))
_HAS_TASKS: dict[tuple[TaskFilter, ...], Any] = {}


_ANSWERS_AND_ENDS: dict[tuple[tuple[TaskFilter, ...], int], DriverStatement] = {}
# A workflow's end tasks: processed, and started nothing; their outbound context makes its output.
_ENDS = (TaskExecution.processed.is_(True), TaskExecution.has_next.is_(False))
_ALL_ROWS = 2**31 - 1


def _questions(filters: tuple[TaskFilter, ...]) -> list[Any]:
    # One EXISTS per filter, each answered by one row of the (workflow, state) index.
    questions = []
    for task_filter in filters:
        # The states written into the SQL: an IN list of bound parameters is expanded again at every
        # execution, where these statements are compiled once.
        states: list[Any] = [literal_column(f"'{State(state).value}'") for state in task_filter.states]
        question = exists().where(TaskExecution.workflow_execution_id == bindparam("workflow_id"),
                                  TaskExecution.state.in_(states))
        if task_filter.error_handled is not None:
            question = question.where(TaskExecution.error_handled.is_(task_filter.error_handled))
        questions.append(question)
    return questions


def _has_tasks_statement(filters: tuple[TaskFilter, ...]) -> Any:
    statement = _HAS_TASKS.get(filters)
    if statement is None:
        statement = _HAS_TASKS[filters] = select(*_questions(filters))
    return statement


def _answers_and_ends_statement(filters: tuple[TaskFilter, ...], open_filters: int) -> DriverStatement:
    """One row of answers (part 0) and the ends' rows (part 1), in one UNION ALL."""
    key = (filters, open_filters)
    statement = _ANSWERS_AND_ENDS.get(key)
    if statement is None:
        questions = _questions(filters)
        # While a task runs or waits, the ends' part reads no row: its LIMIT is then 0, which both
        # databases evaluate once, before the scan (a wide workflow asks this at each of its steps).
        ends = (select(TaskExecution.in_context, TaskExecution.published, TaskExecution.created_at)
                .where(TaskExecution.workflow_execution_id == bindparam("workflow_id"), *_ENDS)
                .limit(case((or_(*questions[:open_filters]), 0), else_=_ALL_ROWS))
                .subquery())
        # The ends first: the union's columns take their types (JSON decoded, times parsed).
        statement = _ANSWERS_AND_ENDS[key] = DriverStatement(union_all(
            select(literal(1).label("part"), ends.c.in_context, ends.c.published, ends.c.created_at,
                   *[null() for _ in questions]),
            select(literal(0), null(), null(), null(), *questions),
        ).order_by("part", "created_at"))
    return statement


class SqlStore:
    """:class:`Store` over a SQLAlchemy session (the caller's transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- tasks ---------------------------------------------------------------------------------

    def task(self, task_id: str) -> TaskExecution | None:
        return self.session.get(TaskExecution, task_id)

    def join_task(self, unique_key: str) -> TaskExecution | None:
        # A join's task is made once per workflow (its key never changes): one the transaction holds
        # already needs no query. Each branch of a wide fan-in arrives in the same step, and each
        # query would first flush what the step changed so far.
        for row in (*self.session.new, *self.session.identity_map.values()):
            if isinstance(row, TaskExecution) and row.__dict__.get("unique_key") == unique_key:
                return row
        # The key is the join's own: what the step changed so far cannot change the answer, so
        # nothing is flushed for it.
        found = _JOIN_TASK.first(self.session.connection(), {"unique_key": unique_key})
        return None if found is None else TASK_ROWS.load(self.session, found, refresh=False)

    def tasks(self, workflow_id: str, states: Iterable[str] | None = None, processed: bool | None = None,
              error_handled: bool | None = None, joins_only: bool = False) -> list[TaskExecution]:
        query = select(TaskExecution).where(TaskExecution.workflow_execution_id == workflow_id)
        if states is not None:
            query = query.where(TaskExecution.state.in_(list(states)))
        if processed is not None:
            query = query.where(TaskExecution.processed.is_(processed))
        if error_handled is not None:
            query = query.where(TaskExecution.error_handled.is_(error_handled))
        if joins_only:
            query = query.where(TaskExecution.unique_key.is_not(None))
        return list(self.session.scalars(query.order_by(TaskExecution.created_at)).all())

    def latest_task(self, workflow_id: str, name: str) -> TaskExecution | None:
        return self.session.scalars(
            select(TaskExecution)
            .where(TaskExecution.workflow_execution_id == workflow_id, TaskExecution.name == name)
            .order_by(TaskExecution.created_at.desc()).limit(1)
        ).first()

    def has_task_in(self, workflow_id: str, states: Iterable[str]) -> bool:
        # One indexed row, whatever the width of the workflow.
        found = self.session.execute(
            select(TaskExecution.id).where(
                TaskExecution.workflow_execution_id == workflow_id, TaskExecution.state.in_(list(states)),
            ).limit(1)
        ).first()
        return found is not None

    def has_tasks(self, workflow_id: str, filters: Sequence[TaskFilter]) -> list[bool]:
        answers = self.session.execute(_has_tasks_statement(tuple(filters)), {"workflow_id": workflow_id}).one()
        return [bool(answer) for answer in answers]

    def answers_and_ends(self, workflow_id: str, filters: Sequence[TaskFilter],
                         open_filters: int) -> tuple[list[bool], list[Outbound] | None]:
        rows = read_rows(self.session, _answers_and_ends_statement(tuple(filters), open_filters),
                         {"workflow_id": workflow_id})
        _part, _in_context, _published, _created_at, *flags = rows[0]
        answers = [bool(flag) for flag in flags]
        if any(answers[:open_filters]):
            return answers, None
        return answers, [(in_context, published) for _, in_context, published, *_ in rows[1:]]

    def task_names(self, workflow_id: str, state: str | None = None) -> set[str]:
        query = select(TaskExecution.name).where(TaskExecution.workflow_execution_id == workflow_id)
        if state is not None:
            query = query.where(TaskExecution.state == state)
        return set(self.session.scalars(query))

    def names_of_tasks(self, task_ids: Iterable[str]) -> dict[str, str]:
        rows = self.session.execute(
            select(TaskExecution.id, TaskExecution.name).where(TaskExecution.id.in_(list(task_ids)))
        ).all()
        return {task_id: name for task_id, name in rows}

    def outbound(self, workflow_id: str, succeeded_only: bool = False,
                 ends_only: bool = False) -> list[Outbound]:
        query = select(TaskExecution.in_context, TaskExecution.published).where(
            TaskExecution.workflow_execution_id == workflow_id)
        if succeeded_only:
            query = query.where(TaskExecution.state == State.SUCCESS.value)
        if ends_only:
            query = query.where(*_ENDS)
        return [(in_context, published) for in_context, published in
                self.session.execute(query.order_by(TaskExecution.created_at)).all()]

    # -- actions and sub-workflows of a task ---------------------------------------------------

    def _actions_of(self, task_id: str) -> Select[Any]:
        return select(ActionExecution).where(ActionExecution.task_execution_id == task_id)

    def actions(self, task_id: str, states: Iterable[str] | None = None,
                accepted: bool | None = None) -> list[ActionExecution]:
        query = self._actions_of(task_id)
        if states is not None:
            query = query.where(ActionExecution.state.in_(list(states)))
        if accepted is not None:
            query = query.where(ActionExecution.accepted.is_(accepted))
        return list(self.session.scalars(query.order_by(ActionExecution.item_index)).all())

    def accepted_results(self, task_id: str) -> list[tuple[str, Any]]:
        # Two columns, not rows: a with-items task of 10,000 items reads them all as it ends.
        rows = self.session.execute(
            select(ActionExecution.state, ActionExecution.output).where(
                ActionExecution.task_execution_id == task_id, ActionExecution.accepted.is_(True),
            ).order_by(ActionExecution.item_index)
        ).all()
        return [(state, output) for state, output in rows]

    def next_idle_action(self, task_id: str) -> ActionExecution | None:
        return self.session.scalars(
            self._actions_of(task_id).where(ActionExecution.state == State.IDLE.value)
            .order_by(ActionExecution.item_index).limit(1)
        ).first()

    def count_actions(self, task_id: str, state: str) -> int:
        return len(self.session.scalars(select(ActionExecution.id).where(
            ActionExecution.task_execution_id == task_id, ActionExecution.state == state,
        )).all())

    def update_actions(self, task_id: str, values: dict[str, Any], states: Iterable[str] | None = None) -> None:
        query = update(ActionExecution).where(ActionExecution.task_execution_id == task_id)
        if states is not None:
            query = query.where(ActionExecution.state.in_(list(states)))
        self.session.execute(query.values(**values).execution_options(synchronize_session=False))

    def fail_open_actions(self, task_id: str, output: dict[str, Any]) -> list[ActionExecution]:
        open_states = [State.RUNNING.value, State.PAUSED.value, State.IDLE.value]
        before = self.session.execute(
            select(ActionExecution.id, ActionExecution.state, ActionExecution.name,
                   ActionExecution.workflow_execution_id, ActionExecution.workflow_name,
                   ActionExecution.task_name).where(
                ActionExecution.task_execution_id == task_id, ActionExecution.state.in_(open_states))
        ).all()
        changed = self.session.execute(
            update(ActionExecution)
            .where(ActionExecution.id.in_([row.id for row in before]), ActionExecution.state.in_(open_states))
            .values(state=State.ERROR.value, output=output, updated_at=utc_now())
            .returning(ActionExecution.id)
            .execution_options(synchronize_session=False)
        ).scalars().all() if before else []
        done = set(changed)
        # Detached copies that describe the change (not rows of the session).
        return [ActionExecution(id=row.id, state=row.state, name=row.name, task_execution_id=task_id,
                                workflow_execution_id=row.workflow_execution_id,
                                workflow_name=row.workflow_name, task_name=row.task_name)
                for row in before if row.id in done]

    def has_answered_result(self, task_id: str) -> bool:
        pending = self.session.scalar(
            select(ActionExecution.id)
            .where(ActionExecution.task_execution_id == task_id, ActionExecution.accepted.is_(True),
                   ActionExecution.processed.is_(False), ActionExecution.state.in_([s.value for s in COMPLETED]))
            .limit(1)
        )
        return pending is not None

    def last_run_name(self, task_id: str) -> str | None:
        name = self.session.scalar(
            select(ActionExecution.name).where(ActionExecution.task_execution_id == task_id)
            .order_by(ActionExecution.created_at.desc(), ActionExecution.id.desc()).limit(1)
        )
        if name is None:
            name = self.session.scalar(
                select(WorkflowExecution.workflow_name).where(WorkflowExecution.task_execution_id == task_id)
                .order_by(WorkflowExecution.created_at.desc()).limit(1)
            )
        return name

    def runs(self, task_id: str) -> tuple[list[Run], list[Run]]:
        actions = self.session.execute(
            select(ActionExecution.id, ActionExecution.state, ActionExecution.output)
            .where(ActionExecution.task_execution_id == task_id)
            .order_by(ActionExecution.created_at, ActionExecution.item_index, ActionExecution.id)
        ).all()
        children = self.session.execute(
            select(WorkflowExecution.id, WorkflowExecution.state, WorkflowExecution.output)
            .where(WorkflowExecution.task_execution_id == task_id)
            .order_by(WorkflowExecution.created_at, WorkflowExecution.id)
        ).all()
        return [(i, s, o) for i, s, o in actions], [(i, s, o) for i, s, o in children]

    def child_executions(self, task_id: str) -> list[WorkflowExecution]:
        return list(self.session.scalars(
            select(WorkflowExecution).where(WorkflowExecution.task_execution_id == task_id)).all())

    def lock_children(self, workflow_id: str, states: Iterable[str]) -> list[WorkflowExecution]:
        task_ids = select(TaskExecution.id).where(TaskExecution.workflow_execution_id == workflow_id)
        ids = self.session.scalars(select(WorkflowExecution.id).where(
            WorkflowExecution.task_execution_id.in_(task_ids), WorkflowExecution.state.in_(list(states)),
        )).all()
        locked = [lock_workflow(self.session, child_id) for child_id in ids]
        return [child for child in locked if child is not None]

    # -- executions ----------------------------------------------------------------------------

    def workflow_params(self, workflow_id: str) -> dict[str, Any]:
        params = self.session.scalar(select(WorkflowExecution.params).where(WorkflowExecution.id == workflow_id))
        return params if isinstance(params, dict) else {}

    def executions(self, project_id: str | None, id: str | None = None,  # noqa: A002
                   root_execution_id: str | None = None, state: str | None = None,
                   from_time: datetime | None = None, to_time: datetime | None = None,
                   limit: int = 10_000) -> list[WorkflowExecution]:
        query = select(WorkflowExecution).where(WorkflowExecution.project_id == project_id)
        if id is not None:
            query = query.where(WorkflowExecution.id == id)
        if root_execution_id is not None:
            query = query.where(WorkflowExecution.root_execution_id == root_execution_id)
        if state is not None:
            query = query.where(WorkflowExecution.state == state)
        if from_time is not None:
            query = query.where(WorkflowExecution.created_at >= from_time)
        if to_time is not None:
            query = query.where(WorkflowExecution.created_at < to_time)
        return list(self.session.scalars(query.order_by(WorkflowExecution.created_at).limit(limit)).all())

    # -- definitions ---------------------------------------------------------------------------

    def resolve_action(self, name: str, given: dict[str, Any], namespace: str, workbook: str | None,
                       view: ExecutionView) -> ResolvedAction:
        return adhoc.resolve(self.session, name, given, namespace, workbook, view)

    def resolve_workflow(self, name: str, parent: WorkflowExecution) -> WorkflowDefinition:
        return definitions.resolve_for_execution(self.session, name, parent)

    # -- writes --------------------------------------------------------------------------------

    def add(self, row: Row) -> None:
        step_writes.add(self.session, row)

    def write(self) -> None:
        """Write the transaction's new tasks and actions and its changed tasks now, in fewer
        statements than the session's flush (see :mod:`app.engine.step_writes`)."""
        step_writes.write(self.session)

    def schedule_timer(self, kind: str, target_id: str, seconds: float,
                       payload: dict[str, Any] | None = None) -> None:
        timers.schedule(self.session, kind, target_id, seconds, payload)

    def cancel_timers(self, workflow_id: str) -> None:
        timers.cancel_for_workflow(self.session, workflow_id)
