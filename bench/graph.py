"""``python -m bench.graph``: what drawing the console's workflow graph costs, for 200 tasks and more.

For each shape (a chain, a fan-out and fan-in through a join, a layered mesh with error-retry
loops and conditions, a deep mesh with far retries, disconnected tasks) of ``--tasks`` tasks it
times, in this process and without a database: parsing the definition into a graph (the
engine's parser), the layout alone (grandalf, the layout cache bypassed), and the whole SVG.
Prints one JSON line per shape: the median and worst wall-clock milliseconds of each step
after ``--warmup`` untimed rounds, the median CPU milliseconds, and whether the layout stayed
within its budget (one second of CPU per graph, issue 17). Exits 1 if one did not.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable

from app.console import graph as console_graph
from app.console import graph_layout, graph_svg

BUDGET_MS = 1000.0
SHAPES = ("chain", "fan", "mesh", "deep", "scattered")


def chain(n: int) -> str:
    lines = ["version: '2.0'", "wf:", "  tasks:"]
    for i in range(n):
        lines += [f"    task_{i:03d}:", "      action: std.noop"]
        if i + 1 < n:
            lines.append(f"      on-success: task_{i + 1:03d}")
    return "\n".join(lines) + "\n"


def fan(n: int) -> str:
    """One task fanning out to ``n - 2`` branches that a join of all waits for."""
    lines = ["version: '2.0'", "wf:", "  tasks:", "    start:", "      action: std.noop", "      on-success:"]
    lines += [f"        - branch_{i:03d}" for i in range(n - 2)]
    for i in range(n - 2):
        lines += [f"    branch_{i:03d}:", "      action: std.echo output=1", "      on-success: done"]
    lines += ["    done:", "      join: all", "      action: std.noop"]
    return "\n".join(lines) + "\n"


def mesh(n: int, seed: int = 17) -> str:
    """Tasks in layers of about eight, each leading to one to three of the next layers, some
    conditionally; one in five retries itself or an earlier task on error (cycles)."""
    rng = random.Random(seed)
    width = 8
    lines = ["version: '2.0'", "wf:", "  task-defaults:", "    on-error: [report]", "  tasks:"]
    for i in range(n - 1):
        lines += [f"    t{i:03d}:", "      action: std.echo output=<% $.x %>"]
        later = [j for j in range(i + 1, min(n - 1, (i // width + 3) * width)) if j // width > i // width]
        targets = rng.sample(later, min(len(later), rng.randint(1, 3)))
        if targets:
            lines.append("      on-success:")
            for j in sorted(targets):
                lines.append(f"        - t{j:03d}: <% $.x > {j} %>" if rng.random() < 0.3 else f"        - t{j:03d}")
        if i and rng.random() < 0.2:
            lines += ["      on-error:", f"        - t{rng.randint(max(0, i - 2 * width), i):03d}"]
    lines += ["    report:", "      action: std.noop"]
    return "\n".join(lines) + "\n"


def deep(n: int, seed: int = 3) -> str:
    """The hard case: each task leads to two of the next eleven (about a hundred layers, many
    long edges), one in five retries from any earlier task on error, and every task reports to
    one last task (task-defaults)."""
    rng = random.Random(seed)
    lines = ["version: '2.0'", "wf:", "  task-defaults:", "    on-complete: [sink]", "  tasks:"]
    for i in range(n - 1):
        lines += [f"    t{i:03d}:", "      action: std.noop"]
        later = list(range(i + 1, min(n - 1, i + 12)))
        if later:
            lines.append("      on-success:")
            lines += [f"        - t{j:03d}" for j in rng.sample(later, min(len(later), 2))]
        if i > 3 and rng.random() < 0.2:
            lines.append(f"      on-error: [t{rng.randrange(0, i):03d}]")
    lines += ["    sink:", "      action: std.noop"]
    return "\n".join(lines) + "\n"


def scattered(n: int) -> str:
    """Tasks that lead nowhere: every one starts the workflow."""
    lines = ["version: '2.0'", "wf:", "  tasks:"]
    for i in range(n):
        lines += [f"    solo_{i:03d}:", "      action: std.noop"]
    return "\n".join(lines) + "\n"


MAKERS: dict[str, Callable[[int], str]] = {"chain": chain, "fan": fan, "mesh": mesh, "deep": deep,
                                           "scattered": scattered}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.graph", description=__doc__)
    parser.add_argument("--tasks", type=int, default=200, help="tasks per workflow")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated subset of " + ", ".join(SHAPES))
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds per shape")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    args = parser.parse_args(argv)
    unknown = {s for s in args.shapes.split(",") if s} - set(SHAPES)
    if unknown:
        parser.error(f"unknown shapes: {', '.join(sorted(unknown))}")
    if args.tasks < 3 or args.repeat < 1:
        parser.error("--tasks must be at least 3 and --repeat at least 1")
    return args


def _millis(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds of one call (CPU time shows the cost on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def measure(shape: str, tasks: int, repeat: int, warmup: int) -> dict[str, object]:
    text = MAKERS[shape](tasks)
    g = console_graph.from_definition(text)
    nodes = list(g.nodes.values())
    index = {node.id: i for i, node in enumerate(nodes)}
    sizes = [graph_svg.node_size(node) for node in nodes]
    pairs = [(index[e.source], index[e.target]) for e in g.edges]
    steps: dict[str, Callable[[], object]] = {
        "parse": lambda: console_graph.from_definition(text),
        "layout": lambda: graph_layout.layout(sizes, pairs),
        "svg": lambda: graph_svg.render_svg(g, {}, lambda name: f"/t/{name}"),
    }
    wall: dict[str, list[float]] = {step: [] for step in steps}
    cpu: dict[str, list[float]] = {step: [] for step in steps}
    for round_ in range(warmup + repeat):
        for step, fn in steps.items():
            graph_layout._layout.cache_clear()  # the SVG step includes a layout computed afresh
            took_wall, took_cpu = _millis(fn)
            if round_ >= warmup:
                wall[step].append(took_wall)
                cpu[step].append(took_cpu)
    record: dict[str, object] = {"bench": "graph", "shape": shape, "tasks": len(g.task_names),
                                 "nodes": len(nodes), "edges": len(g.edges)}
    for step in steps:
        record[f"{step}_ms"] = {"median": round(statistics.median(wall[step]), 1), "max": round(max(wall[step]), 1),
                                "cpu_median": round(statistics.median(cpu[step]), 1)}
    # Judged on CPU time: on a shared machine the wall clock measures the neighbours too.
    record["layout_within_budget"] = statistics.median(cpu["layout"]) < BUDGET_MS
    return record


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    ok = True
    for shape in [s for s in args.shapes.split(",") if s]:
        record = measure(shape, args.tasks, args.repeat, args.warmup)
        ok = ok and bool(record["layout_within_budget"])
        print(json.dumps(record), flush=True)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
