"""Watch every flush for a state written past the transition gate.

The engine writes states only through :class:`app.engine.state_log.StateChanges` (``transition``,
``created``, ``changed_elsewhere``), which checks each against its table. A write that bypasses it
(``row.state = ...`` anywhere else, a row made in a state nobody checked) would be flushed unchecked;
the watch remembers the state the gate last passed for each row and reports any row whose flushed
state differs (and any row ``step_writes`` writes itself, looked at before it writes). It also keeps
each transition the gate refused (logged at ERROR), in case the test caught the error.
Compare-and-set statements are not flushes: tests/unit/test_state_write_paths.py reads those in the
source.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, attributes

from app.engine import step_writes
from app.engine.state_log import StateChanges
from app.models import ActionExecution, TaskExecution, WorkflowExecution

_ROWS = (WorkflowExecution, TaskExecution, ActionExecution)


class StateWrites(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.passed: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self.unchecked: list[str] = []
        self.refused: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.refused.append(record.getMessage())

    def before_flush(self, session: Session, *_: Any) -> None:
        for row in [*session.new, *session.dirty]:
            if not isinstance(row, _ROWS) or not attributes.get_history(row, "state").added:
                continue
            if self.passed.get(row) != row.state:
                self.unchecked.append(f"{type(row).__name__} {row.id}: {row.state}")


@contextmanager
def watched(monkeypatch: pytest.MonkeyPatch) -> Iterator[StateWrites]:
    writes = StateWrites()
    transition, created, elsewhere = StateChanges.transition, StateChanges.created, StateChanges.changed_elsewhere

    def passed_transition(self: StateChanges, row: Any, state: str, *args: Any, **kwargs: Any) -> None:
        transition(self, row, state, *args, **kwargs)
        writes.passed[row] = state

    def passed_created(self: StateChanges, row: Any, *args: Any, **kwargs: Any) -> None:
        created(self, row, *args, **kwargs)
        writes.passed[row] = row.state

    def passed_elsewhere(self: StateChanges, row: Any, previous: str, state: str) -> None:
        elsewhere(self, row, previous, state)
        writes.passed[row] = state

    original_write = step_writes.write

    def checked_write(session: Session, keep: bool = False) -> None:
        # step_writes writes rows itself (at a flush and at a unit's end) and marks them written:
        # the watch looks at them first, as at a flush.
        writes.before_flush(session)
        original_write(session, keep)

    monkeypatch.setattr(step_writes, "write", checked_write)
    monkeypatch.setattr(StateChanges, "transition", passed_transition)
    monkeypatch.setattr(StateChanges, "created", passed_created)
    monkeypatch.setattr(StateChanges, "changed_elsewhere", passed_elsewhere)
    event.listen(Session, "before_flush", writes.before_flush)
    gate_log = logging.getLogger("app.engine.states")
    gate_log.addHandler(writes)
    try:
        yield writes
    finally:
        gate_log.removeHandler(writes)
        event.remove(Session, "before_flush", writes.before_flush)
