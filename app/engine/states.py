"""Execution states, and the transitions between them for each kind of row.

Every state the engine writes (a workflow execution's, a task execution's, an action execution's) is
checked against the table of its kind by :meth:`app.engine.state_log.StateChanges.transition`; a
row's first state against its kind's first states. A write the tables do not allow is a bug of the
engine (:class:`~app.engine.errors.IllegalTransition`), never written.

Mistral has one table for every kind. It enforces it on workflow executions and on the action
updates a caller asks for, but not on the task states its engine writes. The tables here describe
what each kind really goes through:

- a workflow execution follows Mistral's table (less the states it never takes): what a caller
  may ask of it is checked against the same table, with Mistral's words (:func:`check_transition`);
- a task execution also goes back to IDLE (``pause-before``, or a delay that ended while the
  workflow was paused), is delayed before it starts (a join's ``wait-before``) and after it ended
  (``wait-after``), and waits again when a rerun reopens a join it failed. Its completion is
  provisional until the engine has followed it (``processed``): ``fail-on``, ``retry``,
  ``wait-after``, or a publish or a transition that cannot be evaluated may still change it
  (:data:`TASK_REVISIONS`);
- an action execution waits IDLE for its turn in a with-items window, and a paused (asynchronous)
  one can be completed directly, as Mistral accepts.
"""

from __future__ import annotations

from enum import StrEnum

from app.engine.errors import InvalidStateTransition


class State(StrEnum):
    IDLE = "IDLE"
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    DELAYED = "DELAYED"
    PAUSED = "PAUSED"
    SUCCESS = "SUCCESS"
    CANCELLED = "CANCELLED"
    ERROR = "ERROR"
    SKIPPED = "SKIPPED"

    def __str__(self) -> str:
        return self.value


class Kind(StrEnum):
    """The kinds of rows that have a state; the value is how messages name them."""

    WORKFLOW = "workflow execution"
    TASK = "task execution"
    ACTION = "action execution"


COMPLETED = frozenset({State.SUCCESS, State.ERROR, State.CANCELLED, State.SKIPPED})
ACTIVE = frozenset({State.RUNNING, State.DELAYED})

Table = dict[State, frozenset[State]]

_S = State
# Made RUNNING (Mistral's IDLE before the start is never stored), so IDLE has no row.
WORKFLOW_TRANSITIONS: Table = {
    _S.RUNNING: frozenset({_S.PAUSED, _S.SUCCESS, _S.ERROR, _S.CANCELLED}),
    _S.PAUSED: frozenset({_S.RUNNING, _S.ERROR, _S.CANCELLED}),
    _S.SUCCESS: frozenset(),
    # A rerun of one of its tasks runs a failed or cancelled workflow (and its ancestors) again.
    _S.ERROR: frozenset({_S.RUNNING}),
    _S.CANCELLED: frozenset({_S.RUNNING}),
}

TASK_TRANSITIONS: Table = {
    _S.IDLE: frozenset({_S.RUNNING, _S.ERROR, _S.CANCELLED}),
    # A join: it runs, is delayed by its wait-before, or fails when it can never run.
    _S.WAITING: frozenset({_S.RUNNING, _S.DELAYED, _S.ERROR}),
    # IDLE: pause-before stops it before its work starts.
    _S.RUNNING: frozenset({_S.IDLE, _S.PAUSED, _S.DELAYED, _S.SUCCESS, _S.ERROR, _S.CANCELLED}),
    # IDLE: the delay ended while the workflow was not running; SUCCESS: wait-after applies the
    # completion it held back.
    _S.DELAYED: frozenset({_S.RUNNING, _S.IDLE, _S.SUCCESS, _S.ERROR, _S.CANCELLED}),
    # SUCCESS: the third party completes the paused action of the task.
    _S.PAUSED: frozenset({_S.RUNNING, _S.SUCCESS, _S.ERROR, _S.CANCELLED}),
    _S.SUCCESS: frozenset(),
    # Rerun (RUNNING, or WAITING for a join the rerun task may now reach) and skip.
    _S.ERROR: frozenset({_S.RUNNING, _S.WAITING, _S.SKIPPED}),
    # The task of a cancelled sub-workflow that a rerun below it runs again.
    _S.CANCELLED: frozenset({_S.RUNNING}),
    _S.SKIPPED: frozenset(),
}

# A completion the engine has not followed yet (the task is not ``processed``) may still change:
# fail-on or a publish or transition that cannot be evaluated fails it, retry runs it again (at once
# or after a delay), wait-after delays it.
TASK_REVISIONS: Table = {
    _S.SUCCESS: frozenset({_S.ERROR, _S.RUNNING, _S.DELAYED}),
    _S.ERROR: frozenset({_S.RUNNING, _S.DELAYED}),
    _S.SKIPPED: frozenset({_S.ERROR}),
}

ACTION_TRANSITIONS: Table = {
    # IDLE: an item waiting for its turn in a with-items window (or timed out before it came).
    _S.IDLE: frozenset({_S.RUNNING, _S.ERROR, _S.CANCELLED}),
    _S.RUNNING: frozenset({_S.PAUSED, _S.SUCCESS, _S.ERROR, _S.CANCELLED}),
    # A paused asynchronous action is resumed, or completed directly by its third party.
    _S.PAUSED: frozenset({_S.RUNNING, _S.SUCCESS, _S.ERROR, _S.CANCELLED}),
    _S.SUCCESS: frozenset(),
    _S.ERROR: frozenset(),
    _S.CANCELLED: frozenset(),
}

_TABLES = {Kind.WORKFLOW: WORKFLOW_TRANSITIONS, Kind.TASK: TASK_TRANSITIONS, Kind.ACTION: ACTION_TRANSITIONS}

# The state each kind of row is made in.
FIRST_STATES = {
    Kind.WORKFLOW: frozenset({_S.RUNNING}),
    Kind.TASK: frozenset({_S.RUNNING, _S.WAITING}),
    Kind.ACTION: frozenset({_S.RUNNING, _S.IDLE}),
}


def is_completed(state: str) -> bool:
    return state in COMPLETED


def is_valid_transition(kind: Kind, current: str, new: str, followed: bool = True) -> bool:
    """Whether a row of ``kind`` may go from ``current`` to ``new`` (setting a state again always may).

    ``followed`` is False for a task whose completion the engine has not followed yet, which may
    still be revised (:data:`TASK_REVISIONS`).
    """
    if current == new:
        return True
    allowed = _TABLES[kind].get(State(current), frozenset())
    if kind is Kind.TASK and not followed:
        allowed = allowed | TASK_REVISIONS.get(State(current), frozenset())
    return State(new) in allowed


def is_valid_first_state(kind: Kind, state: str) -> bool:
    return state in FIRST_STATES[kind]


def check_transition(kind: Kind, current: str, new: str, detail: str = "") -> None:
    """Refuse, in Mistral's words, a state a caller asks for that the table of ``kind`` does not allow.

    ``detail`` follows the sentence (Mistral names the workflow and the execution after it).
    """
    if not is_valid_transition(kind, current, new):
        message = f"Can't change {kind} state from {current} to {new}."
        raise InvalidStateTransition(f"{message} {detail}" if detail else message)


def check_workflow_transition(current: str, new: str, workflow_name: str, execution_id: str) -> None:
    """:func:`check_transition` for a workflow execution, naming it as Mistral does."""
    check_transition(Kind.WORKFLOW, current, new, f"[workflow={workflow_name}, execution_id={execution_id}]")
