"""The names of Tramontane's Celery tasks, shared by the dispatcher that sends them and the broker
transport that receives them."""

from __future__ import annotations

RUN_ACTION = "tramontane.run_action"
CONTINUE_AFTER_ACTION = "tramontane.continue_after_action"
CONTINUE_PARENT = "tramontane.continue_parent"
RUN_INLINE = "tramontane.run_inline"
NOTIFY = "tramontane.notify"

# The engine's tasks whose lost message the sweeper makes again from the database: an action nobody
# claimed (a RUN_INLINE's glue actions are such actions too), a completed action whose continuation
# did not run. A child's pause or resume told to its parent (CONTINUE_PARENT) has no such row: the
# sweeper only finds children that ended.
RECREATED_FROM_DATABASE = frozenset({RUN_ACTION, CONTINUE_AFTER_ACTION, RUN_INLINE})
