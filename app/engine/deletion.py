"""Deleting an execution with everything below it, in the caller's transaction.

An execution goes with every sub-workflow execution below it (at any depth, as Mistral deletes the
whole tree), their tasks, their action executions and the timers of those tasks: nothing is left for
a worker, the scheduler or the sweeper to find. Timers have no foreign key to their task, and the
rows are deleted by statements rather than left to the cascades, so no row outlives its execution
whatever the database enforces.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import ActionExecution, TaskExecution, Timer, WorkflowExecution


def tree_ids(session: Session, execution_id: str) -> list[str]:
    """The execution and every sub-workflow execution below it, parents before children.

    Walked by the tasks that started them rather than by ``root_execution_id``: below a
    sub-workflow, that names the top of the whole tree, not the execution being deleted.
    """
    ids, frontier = [execution_id], [execution_id]
    while frontier:
        tasks = select(TaskExecution.id).where(TaskExecution.workflow_execution_id.in_(frontier))
        frontier = list(session.scalars(
            select(WorkflowExecution.id).where(WorkflowExecution.task_execution_id.in_(tasks))))
        ids += frontier
    return ids


def delete_tree(session: Session, ids: list[str]) -> None:
    """Delete the executions ``ids`` (a whole tree, see :func:`tree_ids`) and all they own."""
    tasks = select(TaskExecution.id).where(TaskExecution.workflow_execution_id.in_(ids))
    for statement in (
        delete(Timer).where(Timer.target_id.in_(tasks)),
        delete(ActionExecution).where(ActionExecution.workflow_execution_id.in_(ids)),
        delete(ActionExecution).where(ActionExecution.task_execution_id.in_(tasks)),
        delete(TaskExecution).where(TaskExecution.workflow_execution_id.in_(ids)),
        delete(WorkflowExecution).where(WorkflowExecution.id.in_(ids)),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
