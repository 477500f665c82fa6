"""The names of Tramontane's Celery tasks, shared by the dispatcher that sends them and the broker
transport that receives them."""

from __future__ import annotations

RUN_ACTION = "tramontane.run_action"
CONTINUE_AFTER_ACTION = "tramontane.continue_after_action"
CONTINUE_PARENT = "tramontane.continue_parent"
RUN_INLINE = "tramontane.run_inline"
NOTIFY = "tramontane.notify"

# The engine's tasks: each carries ids only, and the sweeper sends it again from the database when
# its message is lost (an unclaimed action, a continuation not run, a child's end not reported).
RECREATED_FROM_DATABASE = frozenset({RUN_ACTION, CONTINUE_AFTER_ACTION, CONTINUE_PARENT, RUN_INLINE})
