"""Sends the engine's messages as Celery tasks (after the engine has committed).

A step that sends several (a fan-out, the items of a with-items task, the starts of many glue
steps) sends them in batches of :data:`BATCH_SIZE`: their LPUSHes go to Redis in one pipeline a
batch instead of one round trip each (Celery publishes to the default queue through the anonymous
exchange, so a message costs Redis nothing else). A batch that fails is sent again message by
message (each with Celery's retries): a message that went out twice is harmless, since every task
checks its row first. Notifications are never in a batch: a webhook sent twice would be told twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

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

# Messages per round trip: the first ones leave while the rest are still being prepared.
BATCH_SIZE = 10

log = logging.getLogger(__name__)


class CeleryDispatcher:
    def __init__(self, celery: Celery) -> None:
        self.celery = celery
        self.signals = CompletionSignals(str(celery.conf.broker_url))

    def send(self, messages: list[Message]) -> None:
        batched = [m for m in messages if not isinstance(m, Notify)]
        if len(batched) < 2 or not self._sent_in_batches(batched):
            for message in batched:
                self._send(message)
        for notification in messages:
            if isinstance(notification, Notify):
                self._send(notification)

    def _sent_in_batches(self, messages: Sequence[Message]) -> bool:
        """False when a batch failed: which of them reached Redis is then unknown."""
        try:
            with self.celery.producer_or_acquire() as producer, producer.batch(max_size=BATCH_SIZE):
                for message in messages:
                    self._send(message, producer)
        except Exception as exc:  # noqa: BLE001 - whatever the broker raised, each is sent again
            log.warning("sending %d messages in batches failed, sending them one by one: %s", len(messages), exc)
            return False
        return True

    def _send(self, message: Message, producer: Any = None) -> None:
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
                producer=producer,
            )
        elif isinstance(message, RunInline):
            self.celery.send_task(RUN_INLINE, args=(message.workflow_execution_id, list(message.action_execution_ids)),
                                  producer=producer)
        elif isinstance(message, ContinueAfterAction):
            self.celery.send_task(CONTINUE_AFTER_ACTION, args=(message.action_execution_id,), producer=producer)
        elif isinstance(message, ContinueParent):
            self.celery.send_task(CONTINUE_PARENT, args=(message.workflow_execution_id,), producer=producer)
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
