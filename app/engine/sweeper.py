"""The sweeper: finds work the database says is due but that no message is carrying any more.

Redis may lose messages (restarted empty) and workers may die mid-action. The database is the
source of truth, so the scheduler periodically re-dispatches from it:

- actions RUNNING but never claimed by a worker for a while: their message was lost;
- actions claimed by a worker whose heartbeat stopped: re-run (safe-rerun) or failed;
- actions completed through the API whose continuation never ran;
- sub-workflows that ended while their parent task still runs.

Every re-dispatched message is idempotent, so a duplicate costs a no-op.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, false, func, select, true, update
from sqlalchemy.orm import Session

from app.actions.base import Result
from app.engine.claims import DELIVERED, SENDING
from app.engine.dispatch import ContinueAfterAction, ContinueParent, Dispatcher, Message, RunAction
from app.engine.service import Engine
from app.engine.states import COMPLETED, State
from app.engine.transactions import read_with_retries, with_retries
from app.models import ActionExecution, TaskExecution, WorkflowExecution, utc_now

log = logging.getLogger(__name__)

BATCH = 500
WORKER_DIED = ("The worker running this action stopped responding and the task's safe-rerun is false, "
               "so the action was not run again.")


class Sweeper:
    def __init__(self, session: Session, dispatcher: Dispatcher, heartbeat_seconds: float,
                 lost_after_seconds: float = 60.0, continuation_after_seconds: float = 10.0) -> None:
        self.session = session
        self.dispatcher = dispatcher
        self.stale_after = timedelta(seconds=3 * heartbeat_seconds)
        self.lost_after = timedelta(seconds=lost_after_seconds)
        self.continuation_after = timedelta(seconds=continuation_after_seconds)
        # Messages sent again, by kind, since the owner last took them (the metrics count them).
        self.resent: dict[str, int] = {}

    def sweep(self) -> int:
        """One pass; returns how many items were re-dispatched or failed."""
        count = self._unclaimed_actions() + self._dead_workers() + self._lost_continuations()
        count += self._ended_children()
        return count

    def _send(self, messages: list[Message]) -> int:
        if messages:
            self.dispatcher.send(messages)
            for message in messages:
                kind = type(message).__name__
                self.resent[kind] = self.resent.get(kind, 0) + 1
        return len(messages)

    def _found(self, query: Select[Any]) -> bool:
        """Whether ``query`` finds a row, asked in a read of its own. Almost every sweep finds nothing:
        a write unit would queue for SQLite's one writer lock (and make the workers' steps wait) for
        nothing, so the write unit runs only when there is something to change."""
        return read_with_retries(self.session, lambda: self.session.execute(query.limit(1)).first() is not None)

    def _touch(self, ids: list[str]) -> None:
        self.session.execute(
            update(ActionExecution).where(ActionExecution.id.in_(ids)).values(updated_at=utc_now())
            .execution_options(synchronize_session=False)
        )

    def _unclaimed_actions(self) -> int:
        if not self._found(self._unclaimed_query()):
            return 0
        return self._send(with_retries(self.session, self._find_unclaimed))

    def _unclaimed_query(self) -> Select[Any]:
        limit = utc_now() - self.lost_after
        return select(ActionExecution.id, ActionExecution.name, ActionExecution.params,
                      ActionExecution.workflow_name, ActionExecution.task_name).where(
            ActionExecution.state == State.RUNNING.value, ActionExecution.worker_id.is_(None),
            func.coalesce(ActionExecution.updated_at, ActionExecution.created_at) < limit,
        ).limit(BATCH)

    def _find_unclaimed(self) -> list[Message]:
        rows = self.session.execute(self._unclaimed_query()).all()
        if not rows:
            return []
        self._touch([row.id for row in rows])
        log.warning("re-dispatching %d actions whose message was lost", len(rows))
        return [RunAction(row.id, row.name, (row.params or {}).get("target"), row.workflow_name, row.task_name)
                for row in rows]

    def _dead_workers(self) -> int:
        if not self._found(self._dead_query()):
            return 0
        messages, doomed = with_retries(self.session, self._find_dead)
        sent = self._send(messages)
        engine = Engine(self.session, self.dispatcher)
        for action_id in doomed:
            log.warning("action %s lost its worker; failing it", action_id)
            engine.on_action_result(action_id, Result(error=WORKER_DIED))
        return sent + len(doomed)

    def _dead_query(self) -> Select[Any]:
        limit = utc_now() - self.stale_after
        return select(ActionExecution.id, ActionExecution.name, ActionExecution.params,
                      ActionExecution.worker_id, ActionExecution.workflow_name, ActionExecution.task_name).where(
            ActionExecution.state == State.RUNNING.value, ActionExecution.worker_id.is_not(None),
            ActionExecution.worker_id.not_in([DELIVERED, SENDING]), ActionExecution.last_heartbeat < limit,
        ).limit(BATCH)

    def _find_dead(self) -> tuple[list[Message], list[str]]:
        rows = self.session.execute(self._dead_query()).all()
        messages: list[Message] = []
        doomed = []
        for row in rows:
            if (row.params or {}).get("safe_rerun"):
                released = self.session.execute(
                    update(ActionExecution).where(ActionExecution.id == row.id,
                                                  ActionExecution.worker_id == row.worker_id)
                    .values(worker_id=None, updated_at=utc_now()).execution_options(synchronize_session=False)
                )
                if getattr(released, "rowcount", 0):
                    messages.append(RunAction(row.id, row.name, (row.params or {}).get("target"),
                                              row.workflow_name, row.task_name))
            else:
                doomed.append(row.id)
        return messages, doomed

    def _lost_continuations(self) -> int:
        if not self._found(self._lost_continuations_query()):
            return 0
        return self._send(with_retries(self.session, self._find_lost_continuations))

    def _lost_continuations_query(self) -> Select[Any]:
        # The terms of the partial index ix_action_ex_unprocessed, written as it is (literal true and
        # false): it holds only the completed actions whose continuation has not run yet, so the
        # sweep costs the same with ten or ten million actions kept.
        limit = utc_now() - self.continuation_after
        return select(ActionExecution.id).where(
            ActionExecution.state.in_([s.value for s in COMPLETED]), ActionExecution.accepted == true(),
            ActionExecution.processed == false(), ActionExecution.task_execution_id.is_not(None),
            ActionExecution.updated_at < limit,
        ).limit(BATCH)

    def _find_lost_continuations(self) -> list[Message]:
        ids = self.session.scalars(self._lost_continuations_query()).all()
        if not ids:
            return []
        self._touch(list(ids))
        return [ContinueAfterAction(action_id) for action_id in ids]

    def _ended_children(self) -> int:
        # Only reads: the parents' continuations do the writing.
        ids = read_with_retries(self.session, lambda: self.session.scalars(self._ended_children_query()).all())
        return self._send([ContinueParent(child_id) for child_id in ids])

    def _ended_children_query(self) -> Select[Any]:
        # The terms of the partial index ix_wf_ex_unreported (sub-workflows not yet reported).
        limit = utc_now() - self.continuation_after
        return (select(WorkflowExecution.id)
                .join(TaskExecution, TaskExecution.id == WorkflowExecution.task_execution_id)
                .where(WorkflowExecution.state.in_([s.value for s in COMPLETED]),
                       WorkflowExecution.reported_to_parent == false(),
                       WorkflowExecution.task_execution_id.is_not(None),
                       TaskExecution.state == State.RUNNING.value,
                       WorkflowExecution.updated_at < limit)
                .limit(BATCH))
