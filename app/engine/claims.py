"""Claimed action executions: what an action execution's ``worker_id`` holds besides the id of the
worker running it, and what a worker reads of the row it claims."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# An async action whose request was sent: only its callback or its task's timeout completes it.
DELIVERED = "delivered"
# An async action whose request is being sent: the same, for the third party may already hold it.
SENDING = "sending"
# An action the engine ran inside its own step (glue, see app.engine.inline): no worker ran it.
INLINE = "inline"


@dataclass(frozen=True)
class ActionRun:
    """What a worker needs to run one action, read by the claim's ``UPDATE ... RETURNING``.

    The same record goes with the result to the continuation, which then needs no read of the row:
    none of these columns changes once the action runs.
    """

    id: str
    name: str
    input: dict[str, Any]
    params: dict[str, Any]
    workflow_name: str | None
    workflow_execution_id: str | None
    task_execution_id: str | None
    task_name: str | None
    is_sync: bool = True
    item_index: int | None = None
