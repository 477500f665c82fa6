"""Join tasks: one execution per workflow that waits until enough inbound tasks have fired into it.

Arrivals are counted in the join task's ``runtime_context`` so that each inbound completion costs
the same whatever the width of the join.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.engine import controller, dataflow
from app.engine.bookkeeping import private
from app.engine.states import State
from app.models import TaskExecution, utc_now

if TYPE_CHECKING:
    from app.engine.runtime import Step



def arrival(step: Step, name: str, context: dict[str, Any] | None, source: str | None,
            trigger: dict[str, Any] | None = None) -> None:
    """Inbound task ``source`` fired into join ``name`` (``context`` given), or never will (None);
    ``trigger`` is its ``triggered_by`` entry (event ``not triggered`` for one that never will)."""
    key = f"join-{step.wf_ex.id}-{name}"
    task = step.store.join_task(key)
    if task is None:
        task = step.new_task(name, State.WAITING.value, {}, unique_key=key)
        step.set_private(task, join={"fired": [], "missed": []})
    elif task.state != State.WAITING:
        if context is not None and task.state == State.ERROR:
            _fired_into_failed(step, task, context, source, trigger)
        elif context is not None and trigger:
            # Mistral decides a join once its inbound tasks are done: a late firing is listed too.
            _add_trigger(step, task, trigger)
        return
    join = dict(private(task).get("join") or {"fired": [], "missed": []})
    if context is not None:
        join["fired"] = [*join["fired"], source]
        task.in_context = dataflow.merge_dicts(task.in_context, context)
        if trigger:
            step.set_private(task, fired_triggers=[*(private(task).get("fired_triggers") or []), trigger])
    elif source not in join["missed"]:
        join["missed"] = [*join["missed"], source]
        if trigger:
            step.set_private(task, not_triggered=[*(private(task).get("not_triggered") or []), trigger])
    step.set_private(task, join=join)
    _decide(step, task, join)


def _fired_into_failed(step: Step, task: TaskExecution, context: dict[str, Any], source: str | None,
                       trigger: dict[str, Any] | None) -> None:
    """An inbound task fired into a join that already failed (another branch ended first without
    firing). Mistral makes the join only when a branch fires into it, so the join it fails holds
    that branch's context whichever branch ended first: the failed workflow's output shows what the
    branch published, and a rerun of the failed branch finds this one arrived. Its shown
    ``triggered_by`` keeps only the 'not triggered' entries, as Mistral's does."""
    join = dict(private(task).get("join") or {"fired": [], "missed": []})
    if source in join["fired"]:
        return
    join["fired"] = [*join["fired"], source]
    task.in_context = dataflow.merge_dicts(task.in_context, context)
    step.set_private(task, join=join)
    if trigger:
        step.set_private(task, fired_triggers=[*(private(task).get("fired_triggers") or []), trigger])


def _decide(step: Step, task: TaskExecution, join: dict[str, Any]) -> None:
    task_spec = step.spec.tasks[task.name]
    inbound = len(step.spec.inbound(task.name))
    decision = controller.join_decision(task_spec.join or "all", inbound, len(join["fired"]),
                                        len(join["missed"]))
    if decision == "run":
        # Mistral lists the inbound tasks that fired into the join when it decides to run it.
        step.set_runtime(task, triggered_by=_in_spec_order(step, task, private(task).get("fired_triggers") or []))
        task.started_at = utc_now()
        step.begin(task)
    elif decision == "error":
        _fail(step, task, sorted(join["missed"]))
    else:
        arrived = set(join["fired"]) | set(join["missed"])
        task.state_info = f"Blocked by tasks: {[n for n in step.spec.inbound(task.name) if n not in arrived]}"


def fail_stuck(step: Step) -> None:
    """Joins still WAITING when nothing else can run will never run: they fail."""
    waiting = step.store.tasks(step.wf_ex.id, states=[State.WAITING.value])
    for task in waiting:
        join = dict(private(task).get("join") or {"fired": [], "missed": []})
        missed = sorted(set(step.spec.inbound(task.name)) - set(join["fired"]))
        step.set_private(task, join={**join, "missed": missed})
        _fail(step, task, missed)


def _add_trigger(step: Step, task: TaskExecution, trigger: dict[str, Any]) -> None:
    triggers = [*(task.runtime_context.get("triggered_by") or []), trigger]
    step.set_runtime(task, triggered_by=_in_spec_order(step, task, triggers))


def _in_spec_order(step: Step, task: TaskExecution, triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``triggers`` in the order the definition lists their tasks, as Mistral lists a join's inbound
    tasks, whatever order they arrived in."""
    ids = [trigger.get("task_id") for trigger in triggers]
    names = step.store.names_of_tasks(str(task_id) for task_id in ids)
    order = {name: index for index, name in enumerate(step.spec.inbound(task.name))}
    return sorted(triggers, key=lambda trigger: order.get(names.get(str(trigger.get("task_id")), ""), len(order)))


def _fail(step: Step, task: TaskExecution, missed: list[str]) -> None:
    """A join that can never run fails. As in Mistral, a join of all then names as its triggers the
    inbound tasks that ran and did not fire into it; a join of a number names none."""
    of_all = (step.spec.tasks[task.name].join or "all") == "all"
    failing = (private(task).get("not_triggered") or []) if of_all else []
    step.set_runtime(task, triggered_by=_in_spec_order(step, task, failing))
    step.complete_task(task, State.ERROR.value, [], state_info=f"Failed by tasks: {missed}")
