"""Join tasks: one execution per workflow that waits until enough inbound tasks have fired into it.

Arrivals are counted in the join task's runtime record so that each inbound completion costs
the same whatever the width of the join. These functions read and write the join task and answer
what the step must do with it (run it, fail it, or nothing yet); the step does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.engine import dataflow, decisions
from app.engine.bookkeeping import runtime, save, updating
from app.engine.language.spec import WorkflowSpec
from app.engine.states import State
from app.engine.store import Store
from app.engine.task_runtime import JoinProgress, TaskRuntime
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
    with updating(task) as record:
        record.join = JoinProgress()


def arrive(store: Store, spec: WorkflowSpec, task: TaskExecution, context: dict[str, Any] | None,
           source: str | None, trigger: dict[str, Any] | None = None) -> Verdict:
    """Inbound task ``source`` fired into join ``task`` (``context`` given), or never will (None);
    ``trigger`` is its ``triggered_by`` entry (event ``not triggered`` for one that never will)."""
    record = runtime(task)
    if task.state != State.WAITING:
        if context is not None and task.state == State.ERROR:
            _fired_into_failed(task, record, context, source, trigger)
        elif context is not None and trigger:
            # Mistral decides a join once its inbound tasks are done: a late firing is listed too.
            record.triggered_by = _in_spec_order(store, spec, task, [*(record.triggered_by or []), trigger])
        save(task, record)
        return WAIT
    join = record.join = record.join or JoinProgress()
    if context is not None:
        join.fired.append(source)
        task.in_context = dataflow.merge_dicts(task.in_context, context)
        if trigger:
            join.fired_triggers.append(trigger)
    elif source not in join.missed:
        join.missed.append(source)
        if trigger:
            join.not_triggered.append(trigger)
    verdict = _decide(store, spec, task, record)
    save(task, record)
    return verdict


def _fired_into_failed(task: TaskExecution, record: TaskRuntime, context: dict[str, Any], source: str | None,
                       trigger: dict[str, Any] | None) -> None:
    """An inbound task fired into a join that already failed (another branch ended first without
    firing). Mistral makes the join only when a branch fires into it, so the join it fails holds
    that branch's context whichever branch ended first: the failed workflow's output shows what the
    branch published, and a rerun of the failed branch finds this one arrived. Its shown
    ``triggered_by`` keeps only the 'not triggered' entries, as Mistral's does."""
    join = record.join = record.join or JoinProgress()
    if source in join.fired:
        return
    join.fired.append(source)
    task.in_context = dataflow.merge_dicts(task.in_context, context)
    if trigger:
        join.fired_triggers.append(trigger)


def _decide(store: Store, spec: WorkflowSpec, task: TaskExecution, record: TaskRuntime) -> Verdict:
    task_spec = spec.tasks[task.name]
    join = record.join or JoinProgress()
    decision = decisions.join_state(task_spec.join or "all", len(spec.inbound(task.name)), join)
    if decision == "run":
        # Mistral lists the inbound tasks that fired into the join when it decides to run it.
        record.triggered_by = _in_spec_order(store, spec, task, join.fired_triggers)
        return Verdict(run=True)
    if decision == "error":
        return Verdict(failure=_failed(store, spec, task, record, sorted(join.missed)))
    arrived = set(join.fired) | set(join.missed)
    task.state_info = f"Blocked by tasks: {[n for n in spec.inbound(task.name) if n not in arrived]}"
    return WAIT


def stuck(store: Store, spec: WorkflowSpec, workflow_id: str) -> list[tuple[TaskExecution, str]]:
    """Joins still WAITING when nothing else can run will never run: each with the state_info it
    fails with."""
    failing = []
    for task in store.tasks(workflow_id, states=[State.WAITING.value]):
        with updating(task) as record:
            join = record.join = record.join or JoinProgress()
            join.missed = sorted(set(spec.inbound(task.name)) - set(join.fired))
            failing.append((task, _failed(store, spec, task, record, join.missed)))
    return failing


def _in_spec_order(store: Store, spec: WorkflowSpec, task: TaskExecution,
                   triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``triggers`` in the order the definition lists their tasks, as Mistral lists a join's inbound
    tasks, whatever order they arrived in."""
    names = store.names_of_tasks(str(trigger.get("task_id")) for trigger in triggers)
    order = {name: index for index, name in enumerate(spec.inbound(task.name))}
    return sorted(triggers, key=lambda trigger: order.get(names.get(str(trigger.get("task_id")), ""), len(order)))


def _failed(store: Store, spec: WorkflowSpec, task: TaskExecution, record: TaskRuntime, missed: list[str]) -> str:
    """A join that can never run fails. As in Mistral, a join of all then names as its triggers the
    inbound tasks that ran and did not fire into it; a join of a number names none."""
    of_all = (spec.tasks[task.name].join or "all") == "all"
    failing = (record.join.not_triggered if record.join else []) if of_all else []
    record.triggered_by = _in_spec_order(store, spec, task, failing)
    return f"Failed by tasks: {missed}"
