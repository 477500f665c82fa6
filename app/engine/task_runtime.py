"""What the engine keeps per task and per workflow execution, as typed records.

A task row's ``runtime_context`` column holds two things: what Mistral shows of a task
(``triggered_by``, ``concurrency``, ``retry_task_policy``, ``wait_before_policy``,
``wait_after_policy``, ``with_items``), written under Mistral's key names and shapes because the
API serves the column, and the engine's own bookkeeping (flags, progress counters, a pending
result) under one private key that every reader leaves out. :class:`TaskRuntime` reads both from a
row (``from_row``) and writes them back (``to_row``); the engine never touches the keys itself.

Keys the record does not know are kept and written back unchanged, so a row written by a newer
release survives a step of this one. Rows written before the bookkeeping moved under the private
key (its flags, counters and ``retry_no`` at the top level) are read too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRIVATE = "__engine"

# Mistral's keys, in the order the record writes them.
_SHOWN = ("triggered_by", "concurrency", "retry_task_policy", "wait_before_policy", "wait_after_policy",
          "with_items")
_FLAGS = ("pause_before_done", "timeout_scheduled", "wait_before_done", "wait_after_done")
_OWN = (*_FLAGS, "pending_completion", "with_items", "join", "fired_triggers", "not_triggered",
        "published_global")
# Bookkeeping the first releases kept at the top level, beside Mistral's keys.
_LEGACY_TOP = (*_FLAGS, "pending_completion", "join", "published_global", "retry_no", "timed_out")


@dataclass
class ItemsProgress:
    """How far a with-items task got: ``count`` items, ``done`` of them ended, ``next`` the index of
    the next item to start (None on tasks started before items were made lazily: every item was
    started at once), ``epoch`` telling this run's sub-workflow children from an earlier run's."""
    count: int = 0
    done: int = 0
    next: int | None = None
    epoch: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def started(self) -> int:
        return self.count if self.next is None else self.next

    @classmethod
    def from_row(cls, value: dict[str, Any]) -> ItemsProgress:
        known = {"count", "done", "next", "epoch"}
        return cls(count=int(value.get("count") or 0), done=int(value.get("done") or 0),
                   next=None if value.get("next") is None else int(value["next"]),
                   epoch=value.get("epoch"), extra={k: v for k, v in value.items() if k not in known})

    def to_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"count": self.count, "done": self.done}
        if self.next is not None:
            row["next"] = self.next
        if self.epoch is not None:
            row["epoch"] = self.epoch
        return {**row, **self.extra}


@dataclass
class JoinProgress:
    """The inbound tasks of a join that fired into it (``fired``) or never will (``missed``), with
    the ``triggered_by`` entries of each kind Mistral shows once the join is decided."""
    fired: list[Any] = field(default_factory=list)
    missed: list[Any] = field(default_factory=list)
    fired_triggers: list[dict[str, Any]] = field(default_factory=list)
    not_triggered: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PendingCompletion:
    """How a run ended, kept while ``wait-after`` delays the task's completion."""
    state: str
    result: Any = None
    state_info: str | None = None


@dataclass
class ShownItems:
    """Mistral's ``with_items``: the count of items and the free places of the concurrency window
    (None without a concurrency)."""
    capacity: int | None
    count: int


@dataclass
class TaskRuntime:
    """Everything the engine keeps per task between steps.

    Mistral's part: ``triggered_by`` (None: not shown), ``concurrency`` (0: none), ``retry_no`` with
    ``retry_shown`` (``retry_task_policy`` appears once the retry policy looked at a completion),
    ``wait_before_shown`` / ``wait_after_shown`` (``{"skip": true}`` once the wait was applied) and
    ``shown_items``. The engine's part: the once-per-run policy flags, the pending completion of a
    ``wait-after``, the with-items progress, the join's arrivals and the values published globally.
    """
    triggered_by: list[dict[str, Any]] | None = None
    concurrency: int = 0
    retry_shown: bool = False
    retry_no: int = 0
    wait_before_shown: bool = False
    wait_after_shown: bool = False
    shown_items: ShownItems | None = None

    pause_before_done: bool = False
    timeout_scheduled: bool = False
    wait_before_done: bool = False
    wait_after_done: bool = False
    pending_completion: PendingCompletion | None = None
    items: ItemsProgress | None = None
    join: JoinProgress | None = None
    published_global: dict[str, Any] | None = None

    # Keys this release does not know, shown ones and the engine's own, written back as read.
    extra: dict[str, Any] = field(default_factory=dict)
    own_extra: dict[str, Any] = field(default_factory=dict)

    # -- reading and writing a row -------------------------------------------------------------

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> TaskRuntime:
        row = dict(row or {})
        own = row.pop(PRIVATE, None)
        if not isinstance(own, dict):
            own, row = _legacy_bookkeeping(row)
        runtime = cls()
        _read_shown(runtime, row)
        _read_own(runtime, own)
        return runtime

    def to_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {}
        if self.triggered_by is not None:
            row["triggered_by"] = list(self.triggered_by)
        if self.concurrency:
            row["concurrency"] = self.concurrency
        if self.retry_shown:
            row["retry_task_policy"] = {"retry_no": self.retry_no} if self.retry_no else {}
        if self.wait_before_shown:
            row["wait_before_policy"] = {"skip": True}
        if self.wait_after_shown:
            row["wait_after_policy"] = {"skip": True}
        if self.shown_items is not None:
            row["with_items"] = {"capacity": self.shown_items.capacity, "count": self.shown_items.count}
        row.update(self.extra)
        own = self._own_row()
        if own:
            row[PRIVATE] = own
        return row

    def shown(self) -> dict[str, Any]:
        """The runtime context as Mistral shows it: its own keys (and unknown ones), not the engine's."""
        row = self.to_row()
        row.pop(PRIVATE, None)
        return row

    def _own_row(self) -> dict[str, Any]:
        own: dict[str, Any] = {flag: True for flag in _FLAGS if getattr(self, flag)}
        if self.pending_completion is not None:
            pending = self.pending_completion
            own["pending_completion"] = {"state": pending.state, "result": pending.result,
                                         "state_info": pending.state_info}
        if self.items is not None:
            own["with_items"] = self.items.to_row()
        if self.join is not None:
            own["join"] = {"fired": list(self.join.fired), "missed": list(self.join.missed)}
            if self.join.fired_triggers:
                own["fired_triggers"] = list(self.join.fired_triggers)
            if self.join.not_triggered:
                own["not_triggered"] = list(self.join.not_triggered)
        if self.published_global:
            own["published_global"] = self.published_global
        return {**own, **self.own_extra}

    # -- changes -------------------------------------------------------------------------------

    def record_items(self, progress: ItemsProgress, capacity: int | None) -> None:
        """Keep the with-items progress, and show it as Mistral does: the count of items and the
        free places of the concurrency window (``capacity``)."""
        self.items = progress
        self.shown_items = ShownItems(capacity=capacity, count=progress.count)

    def retried(self) -> None:
        """A run the retry policy runs again: counted, and its with-items progress starts afresh."""
        self.retry_shown, self.retry_no = True, self.retry_no + 1
        self.items = None

    def reset_for_rerun(self) -> TaskRuntime:
        """The runtime of a task run again by a rerun: not triggered by anything (Mistral drops the
        entry), its retry count and every policy flag afresh, none of the engine's bookkeeping kept
        (the caller reads the with-items progress of the failed run before). What Mistral shows of
        the waits, the concurrency and the items stays, as Mistral's does."""
        return TaskRuntime(concurrency=self.concurrency, wait_before_shown=self.wait_before_shown,
                           wait_after_shown=self.wait_after_shown, shown_items=self.shown_items,
                           extra=dict(self.extra))


def _read_shown(runtime: TaskRuntime, row: dict[str, Any]) -> None:
    triggered_by = row.pop("triggered_by", None)
    runtime.triggered_by = list(triggered_by) if isinstance(triggered_by, list) else None
    runtime.concurrency = int(row.pop("concurrency", None) or 0)
    retry = row.pop("retry_task_policy", None)
    if isinstance(retry, dict):
        runtime.retry_shown, runtime.retry_no = True, int(retry.get("retry_no") or 0)
    runtime.wait_before_shown = bool(row.pop("wait_before_policy", None))
    runtime.wait_after_shown = bool(row.pop("wait_after_policy", None))
    shown = row.pop("with_items", None)
    if isinstance(shown, dict):
        capacity = shown.get("capacity")
        runtime.shown_items = ShownItems(capacity=None if capacity is None else int(capacity),
                                         count=int(shown.get("count") or 0))
    runtime.extra = row


def _read_own(runtime: TaskRuntime, own: dict[str, Any]) -> None:
    own = dict(own)
    for flag in _FLAGS:
        setattr(runtime, flag, bool(own.pop(flag, False)))
    pending = own.pop("pending_completion", None)
    if isinstance(pending, dict):
        runtime.pending_completion = PendingCompletion(state=pending.get("state") or "SUCCESS",
                                                       result=pending.get("result"),
                                                       state_info=pending.get("state_info"))
    items = own.pop("with_items", None)
    runtime.items = ItemsProgress.from_row(items) if isinstance(items, dict) else None
    join = own.pop("join", None)
    fired_triggers = own.pop("fired_triggers", None) or []
    not_triggered = own.pop("not_triggered", None) or []
    if isinstance(join, dict) or fired_triggers or not_triggered:
        join = join if isinstance(join, dict) else {}
        runtime.join = JoinProgress(fired=list(join.get("fired") or []), missed=list(join.get("missed") or []),
                                    fired_triggers=list(fired_triggers), not_triggered=list(not_triggered))
    runtime.published_global = own.pop("published_global", None) or None
    runtime.own_extra = {key: value for key, value in own.items() if key not in _OWN}


def shown_runtime_context(row: dict[str, Any] | None) -> dict[str, Any]:
    """A task row's runtime context as the API and ``task()`` show it (:meth:`TaskRuntime.shown`),
    without building the record for the rows this release writes: lists show thousands."""
    row = row or {}
    if PRIVATE in row or not _is_legacy(row):
        return {key: value for key, value in row.items() if key != PRIVATE}
    return TaskRuntime.from_row(row).shown()


def _is_legacy(row: dict[str, Any]) -> bool:
    items = row.get("with_items")
    return any(key in row for key in _LEGACY_TOP) or (isinstance(items, dict) and "done" in items)


def _legacy_bookkeeping(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The engine's bookkeeping of a row written before it moved under the private key: its flags,
    pending completion, join arrivals and global publish beside Mistral's keys, the with-items
    progress under ``with_items`` and the retry count as ``retry_no``. Returns (own, shown)."""
    own = {key: row.pop(key) for key in _LEGACY_TOP if key in row}
    retry_no = own.pop("retry_no", None)
    if retry_no and "retry_task_policy" not in row:
        row["retry_task_policy"] = {"retry_no": int(retry_no)}
    # That release did not retry a task that timed out; this one does, as Mistral does.
    own.pop("timed_out", None)
    items = row.get("with_items")
    if isinstance(items, dict) and "done" in items:
        own["with_items"] = row.pop("with_items")
    return own, row


# The key of a workflow execution's spec version in its runtime context (see app.engine.specs).
SPEC_VERSION = "spec_version"


@dataclass
class WorkflowRuntime:
    """What the engine keeps per workflow execution: the workbook its definition came from (its
    tasks find the workbook's actions first), the definition version its spec snapshot is of
    (``spec_version``, see app.engine.specs) and the tasks a pause held back (``backlog``: started
    on resume, in order)."""
    workbook: str | None = None
    spec_version: str | None = None
    backlog: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> WorkflowRuntime:
        row = dict(row or {})
        workbook = row.pop("workbook", None)
        spec_version = row.pop(SPEC_VERSION, None)
        backlog = row.pop("backlog", None)
        return cls(workbook=workbook or None, spec_version=spec_version or None, backlog=list(backlog or []),
                   extra=row)

    def to_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {}
        if self.workbook:
            row["workbook"] = self.workbook
        if self.spec_version:
            row[SPEC_VERSION] = self.spec_version
        if self.backlog:
            row["backlog"] = list(self.backlog)
        return {**row, **self.extra}
