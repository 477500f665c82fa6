"""A worker runs the next action of the workflow it just advanced itself, without a broker hop.

When a step started exactly the kind of work this worker takes (an action on the queue the worker
just took a message from), the worker keeps that one message back and runs the action at once: a
chain of sync tasks then costs its database steps, not a Redis round trip and a pool dispatch per
task. The rest of the step's messages go to the broker as usual.

Nothing depends on the held message for safety: the action is committed RUNNING before it is held,
so if the process dies before claiming it, the sweeper sends it again once it has stayed unclaimed
(``LOST_MESSAGE_SECONDS``); once claimed, the worker heartbeat covers it as any other run.
A budget bounds how long one message keeps a pool process, so other executions get their turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app.engine.dispatch import Dispatcher, Message, RunAction

MAX_LOCAL_RUNS = 25
MAX_LOCAL_SECONDS = 1.0


class HoldingDispatcher:
    """Sends everything through ``dispatcher`` except the first action for ``queue``, which it keeps.

    An action without a queue of its own (no ``target``) goes to ``default_queue``.
    """

    def __init__(self, dispatcher: Dispatcher, queue: str, default_queue: str) -> None:
        self.dispatcher = dispatcher
        self.queue = queue
        self.default_queue = default_queue
        self.held: RunAction | None = None

    def send(self, messages: list[Message]) -> None:
        rest: list[Message] = []
        for message in messages:
            if self.held is None and isinstance(message, RunAction) \
                    and (message.queue or self.default_queue) == self.queue:
                self.held = message
            else:
                rest.append(message)
        if rest:
            self.dispatcher.send(rest)

    def take(self) -> RunAction | None:
        held, self.held = self.held, None
        return held


def run_chain(first_action_id: str, run: Callable[[str, HoldingDispatcher], None], holding: HoldingDispatcher,
              max_runs: int = MAX_LOCAL_RUNS, max_seconds: float = MAX_LOCAL_SECONDS) -> int:
    """Run ``first_action_id``, then each action its step started, within the budget; return the count.

    ``run(action_id, holding)`` runs one action with an engine that sends through ``holding``.
    A message still held when the budget is spent goes to the broker; so does the message of an
    action taken over locally whose run raised (a second delivery is harmless: runs are claimed).
    """
    deadline = time.monotonic() + max_seconds
    taken_over: RunAction | None = None
    action_id = first_action_id
    runs = 0
    try:
        while True:
            run(action_id, holding)
            runs += 1
            taken_over = None
            if runs >= max_runs or time.monotonic() >= deadline:
                break
            taken_over = holding.take()
            if taken_over is None:
                break
            action_id = taken_over.action_execution_id
    finally:
        unsent: list[Message] = [m for m in (taken_over, holding.take()) if m is not None]
        if unsent:
            holding.dispatcher.send(unsent)
    return runs
