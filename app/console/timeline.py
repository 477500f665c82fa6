"""An execution's timeline: one bar per task, its action executions beneath it, on one time axis.

Rows are HTML (so names wrap and read at a phone's width); each bar is a small SVG whose
rectangle is placed in percent of the axis, so no inline style is needed (the console's
Content-Security-Policy forbids them). Timestamps come as the API gives them (``YYYY-MM-DD
HH:MM:SS``, UTC) or as datetimes. An item still open (no end yet) runs to ``now``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

FINISHED = frozenset({"SUCCESS", "ERROR", "CANCELLED", "SKIPPED"})
ACTIONS_PER_TASK = 20  # a with-items task may have thousands: the rest is counted, not drawn
MIN_BAR = 0.4  # percent: an item shorter than a second (the timestamps' unit) stays visible
_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
_STATE = re.compile(r"[^a-z0-9_-]")


@dataclass(frozen=True)
class _Item:
    name: str
    state: str
    start: datetime
    end: datetime | None
    is_action: bool
    note: str = ""

    def until(self, now: datetime) -> datetime:
        return self.end if self.end is not None else max(now, self.start)


def render_timeline(tasks: Sequence[Mapping[str, Any]], actions: Sequence[Mapping[str, Any]],
                    now: datetime | None = None, actions_per_task: int = ACTIONS_PER_TASK,
                    link_for_task: Callable[[str], str] | None = None) -> Markup:
    """The timeline of an execution's ``tasks`` and ``actions`` (dicts as the API shows them).

    Actions are placed under their task by ``task_execution_id`` (or ``task_name``); those of no
    listed task come last. ``link_for_task`` makes each task's name a link (as on the graph).
    """
    current = _naive(now) if now is not None else datetime.now(UTC).replace(tzinfo=None)
    rows = _rows(tasks, actions, actions_per_task)
    items = [item for item in rows if isinstance(item, _Item)]
    if not items:
        return Markup('<p class="wf-timeline-empty">No task has started yet.</p>')
    origin = min(item.start for item in items)
    last = max([current if any(item.end is None for item in items) else origin,
                *(item.until(current) for item in items)])
    span = max((last - origin).total_seconds(), 1.0)
    body = Markup("").join(_row(row, origin, span, current, link_for_task) for row in rows)
    return Markup(
        '<div class="wf-timeline" role="group" aria-label="Timeline of the tasks and their actions">'
        '{axis}<ol class="wf-tl-rows">{body}</ol></div>'
    ).format(axis=_axis(span, origin), body=body)


def _rows(tasks: Sequence[Mapping[str, Any]], actions: Sequence[Mapping[str, Any]],
          limit: int) -> list[_Item | str]:
    """Tasks by start time, each followed by its actions (at most ``limit``, then a count)."""
    by_task: dict[str, list[Mapping[str, Any]]] = {}
    for action in actions:
        key = str(action.get("task_execution_id") or action.get("task_name") or "")
        by_task.setdefault(key, []).append(action)
    entries = [(item, task) for task in tasks if (item := _item(task, is_action=False)) is not None]
    entries.sort(key=lambda pair: (pair[0].start, pair[0].name))
    rows: list[_Item | str] = []
    for item, task in entries:
        rows.append(item)
        own = by_task.pop(str(task["id"]), []) if task.get("id") else []
        own += by_task.pop(item.name, [])
        rows.extend(_actions(own, limit))
    rows.extend(_actions([a for group in by_task.values() for a in group], limit))
    return rows


def _actions(actions: list[Mapping[str, Any]], limit: int) -> list[_Item | str]:
    items = [item for action in actions if (item := _item(action, is_action=True)) is not None]
    items.sort(key=lambda item: (item.start, item.name))
    rows: list[_Item | str] = list(items[:limit])
    if len(items) > limit:
        rows.append(f"{len(items) - limit:,} more action executions")
    return rows


def _item(data: Mapping[str, Any], is_action: bool) -> _Item | None:
    start = _time(data.get("started_at")) or _time(data.get("created_at"))
    if start is None:
        return None
    state = str(data.get("state") or "")
    end = _time(data.get("finished_at"))
    if end is None and state in FINISHED:
        end = _time(data.get("updated_at")) or start
    if end is not None and end < start:
        end = start
    note = ""
    if is_action and data.get("item_index") is not None:
        note = f"item {data.get('item_index')}"
    return _Item(str(data.get("name") or "?"), state, start, end, is_action, note)


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return _naive(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return _naive(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def _naive(value: datetime) -> datetime:
    """As naive UTC, the way the API's timestamps are."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _row(row: _Item | str, origin: datetime, span: float, now: datetime,
         link_for_task: Callable[[str], str] | None) -> Markup:
    if isinstance(row, str):
        return Markup('<li class="wf-tl-row wf-tl-more"><span class="wf-tl-label">{}</span></li>').format(row)
    begin = (row.start - origin).total_seconds()
    length = (row.until(now) - row.start).total_seconds()
    left = min(100.0 - MIN_BAR, begin / span * 100)
    width = max(MIN_BAR, min(100.0 - left, length / span * 100))
    running = row.end is None
    state = row.state or "unknown"
    classes = ["wf-tl-row", "action" if row.is_action else "task", "state-" + (_STATE.sub("", state.lower()) or "x")]
    classes += ["open"] if running else []
    # No length at all is what whole-second timestamps give to anything quicker than a second.
    took = "< 1 s" if length <= 0 else ("< 0.1 s" if length < 0.05 else _duration(length))
    when = f"from +{_duration(begin)}, " + (f"{state.lower()} for {took} so far" if running else f"took {took}")
    name = row.name + (f" ({row.note})" if row.note else "")
    label = Markup('<span class="wf-tl-name" title="{name}">{name}</span>').format(name=name)
    if link_for_task is not None and not row.is_action:
        label = Markup('<a class="wf-tl-name" href="{href}">{name}</a>').format(href=link_for_task(row.name), name=name)
    task = Markup("") if row.is_action else Markup(' data-task="{}"').format(row.name)
    return Markup(
        '<li class="{classes}"{task}><span class="wf-tl-label">{label} '
        '<span class="wf-tl-state">{state}</span> <span class="wf-tl-took">{took}</span>'
        '<span class="wf-tl-when">{when}</span></span>'
        '<svg class="wf-tl-track" width="100%" height="14" aria-hidden="true">'
        '<rect class="wf-tl-bar" x="{x}%" y="2" width="{w}%" height="10" rx="2"/></svg></li>'
    ).format(classes=" ".join(classes), task=task, label=label, state=state,
             took=f"{took} so far" if running else took,
             when=when, x=f"{left:.2f}", w=f"{width:.2f}")


def _axis(span: float, origin: datetime) -> Markup:
    step = next((s for s in _TICK_STEPS if span / s <= 6), _TICK_STEPS[-1])
    ticks = []
    at = 0
    while at <= span:
        percent = at / span * 100
        anchor = "start" if at == 0 else ("end" if percent > 92 else "middle")
        ticks.append(Markup('<text x="{x}%" y="11" text-anchor="{a}">+{t}</text>').format(
            x=f"{percent:.2f}", a=anchor, t=_duration(at)))
        at += step
    return Markup(
        '<div class="wf-tl-axis" aria-hidden="true"><span class="wf-tl-label">{start} UTC</span>'
        '<svg class="wf-tl-track" width="100%" height="14">{ticks}</svg></div>'
    ).format(start=origin.strftime("%Y-%m-%d %H:%M:%S"), ticks=Markup("").join(ticks))


def _duration(seconds: float) -> str:
    if seconds < 10:
        # Timestamps read from the database keep their fraction; those of the API are whole seconds.
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + " s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"
