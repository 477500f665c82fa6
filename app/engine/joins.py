"""Join tasks: one execution per workflow that waits until enough inbound tasks have fired into it.

Arrivals are counted in the join task's ``runtime_context`` so that each inbound completion costs
the same whatever the width of the join. These functions read and write the join task and answer
what the step must do with it (run it, fail it, or nothing yet); the step does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.engine import controller, dataflow
from app.engine.bookkeeping import private, set_private, set_runtime
from app.engine.language.spec import WorkflowSpec
from app.engine.states import State
from app.engine.store import Store
from app.models import TaskExecution


@dataclass(frozen=True)
class Verdict:
    """What a join needs after an arrival: to run, to fail (with this state_info), or neither."""
    run: bool = False
    failure: str | None = None


WAIT = Verdict()


def key(workflow_id: str, name: str) -> str:
    """The unique key of the one execution of join ``name`` in a workflow."""
    return f"join-{workflow_id}-{name}"


def opened(task: TaskExecution) -> None:
    """A join task just made, before its first arrival."""
    set_private(task, join={"fired": [], "missed": []})


def arrive(store: Store, spec: WorkflowSpec, task: TaskExecution, context: dict[str, Any] | None,
           source: str | None, trigger: dict[str, Any] | None = None) -> Verdict:
    """Inbound task ``source`` fired into join ``task`` (``context`` given), or never will (None);
    ``trigger`` is its ``triggered_by`` entry (event ``not triggered`` for one that never will)."""
    if task.state != State.WAITING:
        if context is not None and task.state == State.ERROR:
            _fired_into_failed(task, context, source, trigger)
        elif context is not None and trigger:
            # Mistral decides a join once its inbound tasks are done: a late firing is listed too.
            _add_trigger(store, spec, task, trigger)
        return WAIT
    join = dict(private(task).get("join") or {"fired": [], "missed": []})
    if context is not None:
        join["fired"] = [*join["fired"], source]
        task.in_context = dataflow.merge_dicts(task.in_context, context)
        if trigger:
            set_private(task, fired_triggers=[*(private(task).get("fired_triggers") or []), trigger])
    elif source not in join["missed"]:
        join["missed"] = [*join["missed"], source]
        if trigger:
            set_private(task, not_triggered=[*(private(task).get("not_triggered") or []), trigger])
    set_private(task, join=join)
    return _decide(store, spec, task, join)


def _fired_into_failed(task: TaskExecution, context: dict[str, Any], source: str | None,
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
    set_private(task, join=join)
    if trigger:
        set_private(task, fired_triggers=[*(private(task).get("fired_triggers") or []), trigger])


def _decide(store: Store, spec: WorkflowSpec, task: TaskExecution, join: dict[str, Any]) -> Verdict:
    task_spec = spec.tasks[task.name]
    inbound = len(spec.inbound(task.name))
    decision = controller.join_decision(task_spec.join or "all", inbound, len(join["fired"]),
                                        len(join["missed"]))
    if decision == "run":
        # Mistral lists the inbound tasks that fired into the join when it decides to run it.
        set_runtime(task, triggered_by=_in_spec_order(store, spec, task, private(task).get("fired_triggers") or []))
        return Verdict(run=True)
    if decision == "error":
        return Verdict(failure=_failed(store, spec, task, sorted(join["missed"])))
    arrived = set(join["fired"]) | set(join["missed"])
    task.state_info = f"Blocked by tasks: {[n for n in spec.inbound(task.name) if n not in arrived]}"
    return WAIT


def stuck(store: Store, spec: WorkflowSpec, workflow_id: str) -> list[tuple[TaskExecution, str]]:
    """Joins still WAITING when nothing else can run will never run: each with the state_info it
    fails with."""
    failing = []
    for task in store.tasks(workflow_id, states=[State.WAITING.value]):
        join = dict(private(task).get("join") or {"fired": [], "missed": []})
        missed = sorted(set(spec.inbound(task.name)) - set(join["fired"]))
        set_private(task, join={**join, "missed": missed})
        failing.append((task, _failed(store, spec, task, missed)))
    return failing


def _add_trigger(store: Store, spec: WorkflowSpec, task: TaskExecution, trigger: dict[str, Any]) -> None:
    triggers = [*(task.runtime_context.get("triggered_by") or []), trigger]
    set_runtime(task, triggered_by=_in_spec_order(store, spec, task, triggers))


def _in_spec_order(store: Store, spec: WorkflowSpec, task: TaskExecution,
                   triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``triggers`` in the order the definition lists their tasks, as Mistral lists a join's inbound
    tasks, whatever order they arrived in."""
    names = store.names_of_tasks(str(trigger.get("task_id")) for trigger in triggers)
    order = {name: index for index, name in enumerate(spec.inbound(task.name))}
    return sorted(triggers, key=lambda trigger: order.get(names.get(str(trigger.get("task_id")), ""), len(order)))


def _failed(store: Store, spec: WorkflowSpec, task: TaskExecution, missed: list[str]) -> str:
    """A join that can never run fails. As in Mistral, a join of all then names as its triggers the
    inbound tasks that ran and did not fire into it; a join of a number names none."""
    of_all = (spec.tasks[task.name].join or "all") == "all"
    failing = (private(task).get("not_triggered") or []) if of_all else []
    set_runtime(task, triggered_by=_in_spec_order(store, spec, task, failing))
    return f"Failed by tasks: {missed}"
