"""Execution states and the transitions Mistral allows between them.

The table is checked where a caller asks for a state (an action execution paused or resumed
through the API). The engine's own writes go through ``runtime.Step.set_state``, which records
each change (see ``state_log``) but does not check it against this table yet: a completion passes
through intermediate states the table does not list (a success that ``fail-on`` turns into an
error, a failure that ``retry`` delays, a failed join that a rerun sets waiting again, a task that
``pause-before`` sets idle).
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


COMPLETED = frozenset({State.SUCCESS, State.ERROR, State.CANCELLED, State.SKIPPED})
ACTIVE = frozenset({State.RUNNING, State.DELAYED})

_TRANSITIONS: dict[State, frozenset[State]] = {
    State.IDLE: frozenset({State.RUNNING, State.ERROR, State.CANCELLED}),
    State.WAITING: frozenset({State.RUNNING, State.ERROR, State.CANCELLED}),
    State.RUNNING: frozenset(
        {State.PAUSED, State.DELAYED, State.SUCCESS, State.ERROR, State.CANCELLED}
    ),
    State.DELAYED: frozenset({State.RUNNING, State.ERROR, State.CANCELLED}),
    State.PAUSED: frozenset({State.RUNNING, State.ERROR, State.CANCELLED}),
    State.SUCCESS: frozenset(),
    State.CANCELLED: frozenset({State.RUNNING}),
    State.ERROR: frozenset({State.RUNNING, State.SKIPPED}),
    State.SKIPPED: frozenset(),
}


def is_completed(state: str) -> bool:
    return state in COMPLETED


def is_valid_transition(current: str, new: str) -> bool:
    if current == new:
        return True
    return State(new) in _TRANSITIONS[State(current)]


def check_transition(current: str, new: str, what: str = "execution") -> None:
    """Raise :class:`InvalidStateTransition` unless ``current -> new`` is allowed."""
    if not is_valid_transition(current, new):
        raise InvalidStateTransition(
            f"Can't change {what} state from {current} to {new}."
        )
