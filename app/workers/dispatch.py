"""Sends the engine's messages as Celery tasks (after the engine has committed)."""

from __future__ import annotations

from celery import Celery

from app.engine.dispatch import ActionDone, ContinueAfterAction, ContinueParent, Message, Notify, RunAction
from app.signals import CompletionSignals

RUN_ACTION = "tramontane.run_action"
CONTINUE_AFTER_ACTION = "tramontane.continue_after_action"
CONTINUE_PARENT = "tramontane.continue_parent"
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
                    queue=message.queue or None,
                    # Flower and the logs show the action's name and id instead of a generic name.
                    shadow=f"{message.action_name}[{message.action_execution_id}]",
                )
            elif isinstance(message, ContinueAfterAction):
                self.celery.send_task(CONTINUE_AFTER_ACTION, args=(message.action_execution_id,))
            elif isinstance(message, ContinueParent):
                self.celery.send_task(CONTINUE_PARENT, args=(message.workflow_execution_id,))
            elif isinstance(message, ActionDone):
                self.signals.notify(message.action_execution_id)
            elif isinstance(message, Notify):
                self.celery.send_task(NOTIFY, args=(message.url, message.headers, message.body))
