"""Messages the engine sends after a commit, and the interface of whoever sends them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class RunAction:
    """Run an action execution that is committed RUNNING."""

    action_execution_id: str
    action_name: str
    queue: str | None = None
    # For people reading Flower and the logs; the worker reads everything from the row.
    workflow_name: str | None = None
    task_name: str | None = None


@dataclass(frozen=True)
class RunInline:
    """Complete glue actions (committed RUNNING, on no worker yet) inside an engine step on a worker.

    Sent for the glue a step reached but did not run itself: a web request or a timer never does,
    and a worker's step stops after its budget. The ids are those of one workflow execution, in the
    order the step reached them; the step fills the list before it commits.
    """

    workflow_execution_id: str
    action_execution_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ContinueAfterAction:
    """An action was completed through the API; its task and workflow go on in a worker."""

    action_execution_id: str


@dataclass(frozen=True)
class ContinueParent:
    """A sub-workflow ended; the task that started it completes in its own transaction."""

    workflow_execution_id: str


@dataclass(frozen=True)
class ActionDone:
    """An action run outside any workflow ended; whoever waits for it (a sync run-action) wakes up."""

    action_execution_id: str


@dataclass(frozen=True)
class Notify:
    """Tell a webhook of a workflow or task event (``params.notify``)."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]


Message = RunAction | RunInline | ContinueAfterAction | ContinueParent | ActionDone | Notify


class Dispatcher(Protocol):
    def send(self, messages: list[Message]) -> None: ...


class CollectingDispatcher:
    """Keeps messages in a list: for tests and for callers that send them later."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, messages: list[Message]) -> None:
        self.sent.extend(messages)
