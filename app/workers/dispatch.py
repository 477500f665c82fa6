"""Sends the engine's messages as Celery tasks (after the engine has committed)."""

from __future__ import annotations

from celery import Celery

from app.engine.dispatch import (
    ActionDone,
    ContinueAfterAction,
    ContinueParent,
    Message,
    Notify,
    RunAction,
    RunInline,
)
from app.masking import masked_headers, masked_url
from app.signals import CompletionSignals

RUN_ACTION = "tramontane.run_action"
CONTINUE_AFTER_ACTION = "tramontane.continue_after_action"
CONTINUE_PARENT = "tramontane.continue_parent"
RUN_INLINE = "tramontane.run_inline"
NOTIFY = "tramontane.notify"


class CeleryDispatcher:
    def __init__(self, celery: Celery) -> None:
        self.celery = celery
        self.signals = CompletionSignals(str(celery.conf.broker_url))

    def send(self, messages: list[Message]) -> None:
        for message in messages:
            if isinstance(message, RunAction):
                self.celery.send_task(
                    RUN_ACTION,
                    args=(message.action_execution_id,),
                    # Flower and the worker's log show the action execution's id as the task's id.
                    task_id=message.action_execution_id,
                    queue=message.queue or None,
                    # Flower and the logs show what runs instead of a generic name; no id in it, so
                    # Flower's metrics get one label per action of a task, not one per run.
                    shadow=display_name(message),
                    kwargsrepr=repr({k: v for k, v in (("workflow", message.workflow_name),
                                                        ("task", message.task_name),
                                                        ("action", message.action_name)) if v}),
                )
            elif isinstance(message, RunInline):
                self.celery.send_task(RUN_INLINE, args=(message.workflow_execution_id,
                                                        list(message.action_execution_ids)))
            elif isinstance(message, ContinueAfterAction):
                self.celery.send_task(CONTINUE_AFTER_ACTION, args=(message.action_execution_id,))
            elif isinstance(message, ContinueParent):
                self.celery.send_task(CONTINUE_PARENT, args=(message.workflow_execution_id,))
            elif isinstance(message, ActionDone):
                self.signals.notify(message.action_execution_id)
            elif isinstance(message, Notify):
                self.celery.send_task(NOTIFY, args=(message.url, message.headers, message.body),
                                      shadow=f"notify {_bounded(str(message.body.get('event', '')))}",
                                      argsrepr=repr((masked_url(message.url), masked_headers(message.headers),
                                                     {k: message.body.get(k) for k in ("event", "id")})))


NAME_LIMIT = 120


def display_name(message: RunAction) -> str:
    """``workflow.task: action``, or the action alone when it runs outside a workflow."""
    if message.workflow_name and message.task_name:
        return _bounded(f"{message.workflow_name}.{message.task_name}: {message.action_name}")
    return _bounded(message.action_name)


def _bounded(text: str) -> str:
    return text if len(text) <= NAME_LIMIT else text[:NAME_LIMIT - 3] + "..."
