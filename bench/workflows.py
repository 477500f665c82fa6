"""The workflow documents the scenarios run, generated for any size.

Every name carries the run's prefix, so a run against a shared service never touches (or is
confused by) anyone else's workflows and executions.
"""

from __future__ import annotations


def _header(name: str, input_names: tuple[str, ...] = ()) -> list[str]:
    lines = ["version: '2.0'", f"{name}:", "  type: direct"]
    if input_names:
        lines.append("  input:")
        lines += [f"    - {item}" for item in input_names]
    lines.append("  tasks:")
    return lines


# The executor path's no-op and failure: user actions from the benchmark's plugin, never inlined.
EXECUTOR_NOOP = "bench.noop"
EXECUTOR_FAIL = "bench.fail"


def chain(name: str, length: int, action: str = "std.noop") -> str:
    """``length`` sequential ``action`` tasks linked by ``on-success``."""
    lines = _header(name)
    for index in range(1, length + 1):
        lines += [f"    t{index}:", f"      action: {action}"]
        if index < length:
            lines.append(f"      on-success: t{index + 1}")
    return "\n".join(lines) + "\n"


def with_items(name: str, concurrency: int | None = None, action: str = "std.echo") -> str:
    """One task calling ``action`` once per element of the ``items`` input (std.echo echoes it)."""
    call = "std.echo output=<% $.x %>" if action == "std.echo" else action
    lines = _header(name, ("items",)) + [
        "    each:",
        "      with-items: x in <% $.items %>",
        f"      action: {call}",
    ]
    if concurrency:
        lines.append(f"      concurrency: {concurrency}")
    return "\n".join(lines) + "\n"


def fan_in(name: str, width: int, action: str = "std.noop") -> str:
    """``width`` parallel ``action`` start tasks, all followed by one ``join: all`` task."""
    lines = _header(name)
    for index in range(1, width + 1):
        lines += [f"    b{index}:", f"      action: {action}", "      on-success: joined"]
    lines += ["    joined:", "      join: all", f"      action: {action}"]
    return "\n".join(lines) + "\n"


def async_wait(name: str) -> str:
    """One ``std.async_noop`` task: the execution waits until a callback completes the action."""
    lines = _header(name) + ["    wait:", "      action: std.async_noop"]
    return "\n".join(lines) + "\n"
