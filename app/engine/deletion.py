"""Deleting an execution with everything below it, in the caller's transaction.

An execution goes with every sub-workflow execution below it (at any depth, as Mistral deletes the
whole tree), their tasks, their action executions and the timers of those tasks: nothing is left for
a worker, the scheduler or the sweeper to find. Timers have no foreign key to their task, and the
rows are deleted by statements rather than left to the cascades, so no row outlives its execution
whatever the database enforces.
"""

from __future__ import annotations

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from app.engine.states import COMPLETED
from app.models import ActionExecution, TaskExecution, Timer, WorkflowExecution


def tree(session: Session, execution: WorkflowExecution) -> Select[str]:
    """The ids of the execution and of every sub-workflow execution below it, as a query."""
    if execution.task_execution_id is None:
        return trees([execution.id])
    return select(WorkflowExecution.id).where(WorkflowExecution.id.in_(_walk(session, execution.id)))


def trees(top_ids: list[str]) -> Select[str]:
    """The ids of the top-level executions ``top_ids`` and of every execution below them, as a query."""
    # Every execution below a top one names it as its root: one condition, whatever the width.
    return select(WorkflowExecution.id).where(or_(WorkflowExecution.id.in_(top_ids),
                                                  WorkflowExecution.root_execution_id.in_(top_ids)))


def ended_trees(session: Session, ids: list[str]) -> list[str]:
    """Those of ``ids`` that are top-level executions whose whole tree has ended, locked: deleting
    them changes nothing else, so they may go together."""
    rows = session.execute(select(WorkflowExecution.id, WorkflowExecution.state).where(
        WorkflowExecution.id.in_(ids), WorkflowExecution.task_execution_id.is_(None)).with_for_update())
    ended = {execution_id for execution_id, state in rows if state in COMPLETED}
    if not ended:
        return []
    running_below = set(session.scalars(select(WorkflowExecution.root_execution_id).where(
        WorkflowExecution.root_execution_id.in_(ended), WorkflowExecution.state.not_in(COMPLETED))))
    return [execution_id for execution_id in ids if execution_id in ended and execution_id not in running_below]


def _walk(session: Session, execution_id: str) -> list[str]:
    """Below a sub-workflow, ``root_execution_id`` names the top of the whole tree: walk down by the
    tasks that started each execution instead."""
    ids, frontier = [execution_id], [execution_id]
    while frontier:
        tasks = select(TaskExecution.id).where(TaskExecution.workflow_execution_id.in_(frontier))
        frontier = list(session.scalars(
            select(WorkflowExecution.id).where(WorkflowExecution.task_execution_id.in_(tasks))))
        ids += frontier
    return ids


def unfinished(session: Session, ids: Select[str]) -> bool:
    """Whether an execution that ``ids`` selects has not ended (it is cancelled before it goes)."""
    return session.scalar(select(WorkflowExecution.id).where(
        WorkflowExecution.id.in_(ids), WorkflowExecution.state.not_in(COMPLETED)).limit(1)) is not None


def delete_tree(session: Session, ids: Select[str]) -> None:
    """Delete the executions ``ids`` selects (a whole tree, see :func:`tree`) and all they own."""
    tasks = select(TaskExecution.id).where(TaskExecution.workflow_execution_id.in_(ids))
    for statement in (
        delete(Timer).where(Timer.target_id.in_(tasks)),
        delete(ActionExecution).where(ActionExecution.workflow_execution_id.in_(ids)),
        delete(ActionExecution).where(ActionExecution.task_execution_id.in_(tasks)),
        delete(TaskExecution).where(TaskExecution.workflow_execution_id.in_(ids)),
        delete(WorkflowExecution).where(WorkflowExecution.id.in_(ids)),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
