"""Starting the work of a task: one action, the items of a with-items task, or a sub-workflow."""

from __future__ import annotations

from typing import Any

from app.engine import bookkeeping, dataflow, decisions, expressions, failures, items, subworkflows, workflow_items
from app.engine.adhoc import ResolvedAction
from app.engine.bookkeeping import runtime, workflow_runtime
from app.engine.errors import ActionInstantiationError, EngineError, InputError, WorkflowNotFound
from app.engine.states import State
from app.engine.stepping import StepOps
from app.engine.task_runtime import ItemsProgress
from app.models import ActionExecution, TaskExecution, built, new_id, utc_now


def start_work(step: StepOps, task: TaskExecution) -> None:
    task_spec = step.spec.tasks[task.name]
    try:
        if task_spec.with_items is not None:
            _start_items(step, task)
        elif task_spec.workflow:
            _start_subworkflow(step, task)
        else:
            _start_single_action(step, task)
    except (WorkflowNotFound, ActionInstantiationError) as exc:
        # An ordinary failure of the task: its on-error may still handle it.
        step.complete_task(task, State.ERROR.value, [], state_info=str(exc))
    except EngineError as exc:
        step.force_fail(task, failures.run_failure(exc, step.wf_ex.workflow_name, task.name), result=[])


def _start_subworkflow(step: StepOps, task: TaskExecution) -> None:
    task_spec = step.spec.tasks[task.name]
    child_input = dataflow.task_input(task_spec, step.data(task.in_context), step.view(task))
    try:
        subworkflows.start(step, task, child_input)
    except InputError as exc:
        # The child refuses the input: an ordinary failure of the task, as in Mistral.
        step.complete_task(task, State.ERROR.value, [], state_info=str(exc))


def _resolve(step: StepOps, task: TaskExecution, data: dict[str, Any]) -> tuple[ResolvedAction, Any]:
    task_spec = step.spec.tasks[task.name]
    view = step.view(task)
    name = dataflow.action_name(task_spec, data, view)
    given = dataflow.task_input(task_spec, data, view)
    defaults = (view.env().get("__actions") or {}).get(name) or {}
    resolved = step.store.resolve_action(name, {**defaults, **given}, step.wf_ex.workflow_namespace,
                                         workflow_runtime(step.wf_ex).workbook, view)
    queue = expressions.evaluate_recursively(task_spec.target, data, view)
    return resolved, queue


def _is_sync(resolved: ResolvedAction) -> bool:
    try:
        return bool(resolved.action_class(**resolved.base_input).is_sync())
    except Exception as exc:  # noqa: BLE001 - a constructor's failure is the task's failure
        raise EngineError(f"Failed to create action {resolved.name}: {exc}") from exc


def _start_single_action(step: StepOps, task: TaskExecution) -> None:
    resolved, queue = _resolve(step, task, step.data(task.in_context))
    _add_action(step, task, resolved, queue, index=None, run=True, safe_rerun=step.policies(task).safe_rerun())


def _add_action(step: StepOps, task: TaskExecution, resolved: ResolvedAction, queue: Any, index: int | None,
                run: bool, safe_rerun: bool) -> ActionExecution:
    wf = step.wf_ex
    name = resolved.name
    params = resolved.params()
    if safe_rerun:
        params["safe_rerun"] = True
    if queue:
        params["target"] = str(queue)
    action = built(
        ActionExecution,
        id=new_id(),
        task_execution_id=task.id,
        workflow_execution_id=wf.id,
        workflow_name=wf.workflow_name,
        workflow_namespace=wf.workflow_namespace,
        task_name=task.name,
        name=name,
        state=State.RUNNING.value if run else State.IDLE.value,
        input=resolved.given,
        params=params,
        is_sync=_is_sync(resolved),
        accepted=False,
        item_index=index,
        project_id=wf.project_id,
        # As a task is: stamped as made, before a glue run stamps its update.
        created_at=utc_now(),
    )
    step.created(action)
    if run:
        step.send_action(task, action)
    return action


# -- with-items -------------------------------------------------------------------------------------


def _start_items(step: StepOps, task: TaskExecution) -> None:
    task_spec = step.spec.tasks[task.name]
    assert task_spec.with_items is not None
    data = step.data(task.in_context)
    values = items.expand(task_spec.with_items, data, step.view(task))
    if not values:
        bookkeeping.record_progress(task, ItemsProgress(count=0, done=0))
        step.complete_task(task, State.SUCCESS.value, [])
        return
    if task_spec.workflow:
        workflow_items.start(step, task, len(values))
        return
    # As in Mistral, an item's action (and its input) is made only when the window reaches it.
    window = step.policies(task).concurrency() or len(values)
    # Recorded first: how many items are left decides whether they may run as glue.
    bookkeeping.record_progress(task, ItemsProgress(count=len(values), done=0, next=window))
    _add_items(step, task, data, list(enumerate(values))[:window])


def rerun_items(step: StepOps, task: TaskExecution, indices: list[int]) -> None:
    """Start the given items again, their input evaluated afresh: the rerun may have changed the env."""
    task_spec = step.spec.tasks[task.name]
    assert task_spec.with_items is not None
    data = step.data(task.in_context)
    values = items.expand(task_spec.with_items, data, step.view(task))
    missing = [index for index in indices if index >= len(values)]
    if missing:
        raise EngineError(f"with-items now has {len(values)} items: item {missing[0]} cannot be rerun")
    _add_items(step, task, data, [(index, values[index]) for index in indices])


def _add_items(step: StepOps, task: TaskExecution, data: dict[str, Any],
               entries: list[tuple[int, dict[str, Any]]]) -> None:
    """One action per (item index, item variables); the first ``concurrency`` run, the rest wait IDLE."""
    policies = step.policies(task)
    capacity = policies.concurrency() or len(entries)
    safe_rerun = policies.safe_rerun()
    if capacity < len(entries) and not runtime(task).concurrency:
        # Items left IDLE are started as others end: the record says a window is in force.
        with bookkeeping.updating(task) as record:
            record.concurrency = capacity
    with expressions.shared_data():
        for position, (index, item) in enumerate(entries):
            resolved, queue = _resolve(step, task, {**data, **item})
            _add_action(step, task, resolved, queue, index, run=position < capacity, safe_rerun=safe_rerun)


def item_completed(step: StepOps, task: TaskExecution) -> None:
    """One item ended: start the next idle one, and complete the task after the last."""
    progress = runtime(task).items or ItemsProgress()
    progress.done += 1
    bookkeeping.record_progress(task, progress)
    if step.wf_ex.state == State.RUNNING:
        _start_next_item(step, task)
    finish_items_if_done(step, task)


def _accepted_results(step: StepOps, task: TaskExecution) -> list[Any]:
    """The results of the items that ended so far, in item order (a failed task shows them)."""
    return [(output or {}).get("result") for _, output in step.store.accepted_results(task.id)]


def finish_items_if_done(step: StepOps, task: TaskExecution) -> None:
    if not decisions.items_finished(runtime(task).items):
        return
    rows = step.store.accepted_results(task.id)
    state = items.outcome({state for state, _ in rows})
    step.complete_task(task, state, [(output or {}).get("result") for _, output in rows],
                       state_info="One or more actions had failed." if state == State.ERROR else None)


def _start_next_item(step: StepOps, task: TaskExecution) -> None:
    # IDLE items exist only under a concurrency limit, which the task's record keeps (see _add_items);
    # without one, no query (and no flush before it) at each item's end.
    action = step.store.next_idle_action(task.id) if runtime(task).concurrency else None
    if action is not None:
        step.set_state(action, State.RUNNING.value)
        step.send_action(task, action)
        return
    progress = runtime(task).items or ItemsProgress()
    # A task started before items were made lazily has no "next": its IDLE rows are all there is.
    index = progress.started
    if index >= progress.count:
        return
    task_spec = step.spec.tasks[task.name]
    assert task_spec.with_items is not None
    data = step.data(task.in_context)
    try:
        # The items are evaluated once per step (a step may start fifty of them), not per item.
        values = step.item_values.get(task.id)
        if values is None:
            values = step.item_values[task.id] = items.expand(task_spec.with_items, data, step.view(task))
        if index >= len(values):
            raise EngineError(f"with-items now has {len(values)} items; item {index} cannot start")
        _add_items(step, task, data, [(index, values[index])])
    except EngineError as exc:
        step.fail_completion(task, exc, result=_accepted_results(step, task))
        return
    progress.next = index + 1
    bookkeeping.record_progress(task, progress)


def start_idle_items(step: StepOps, task: TaskExecution) -> None:
    """After a resume: refill the with-items window up to its concurrency."""
    if step.spec.tasks[task.name].workflow:
        workflow_items.refill(step, task)
        return
    progress = runtime(task).items or ItemsProgress()
    running = step.store.count_actions(task.id, State.RUNNING.value)
    for _ in range(decisions.items_to_start(step.policies(task).concurrency(), progress, running)):
        _start_next_item(step, task)
