"""The console's workflow graph (model, layout, SVG) and the execution timeline, without a server."""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markupsafe import Markup

from app.console import graph
from app.console.graph_layout import Box, Layout, layout
from app.console.graph_svg import node_size
from app.engine.errors import DSLError, NotFound
from app.engine.language.spec import OnClause, TaskSpec, Transition, WorkflowSpec

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]

DIRECT = """
version: '2.0'
flow:
  description: an order
  task-defaults:
    on-error: [report]
  tasks:
    fetch:
      action: std.http url=http://example.com
      on-success:
        - check: <% $.ok %>
        - notify
      on-error: fail msg="could not fetch"
    check:
      action: std.async_noop
      on-complete: merge
      on-skip: report
    notify:
      workflow: notifier
      with-items: who in <% $.people %>
      on-success: merge
    merge:
      join: all
      action: std.noop
      on-error: [merge]
    report:
      action: std.echo output=done
"""


def wf(tasks: str, name: str = "wf", head: str = "") -> str:
    return f"version: '2.0'\n{name}:\n{head}  tasks:\n" + textwrap.indent(textwrap.dedent(tasks), "    ")


def chain(n: int) -> str:
    return wf("".join(f"t{i}:\n  action: std.noop\n" + (f"  on-success: t{i + 1}\n" if i + 1 < n else "")
                      for i in range(n)))


def fan(n: int) -> str:
    text = "start:\n  action: std.noop\n  on-success:\n" + "".join(f"    - b{i}\n" for i in range(n))
    text += "".join(f"b{i}:\n  action: std.noop\n  on-success: end\n" for i in range(n))
    return wf(text + "end:\n  join: all\n  action: std.noop\n")


def retry_loops() -> str:
    return wf("""
        init:
          action: std.noop
          on-success: a
        a:
          action: std.noop
          on-success: b
        b:
          action: std.noop
          on-success: c
          on-error: a
        c:
          action: std.noop
          on-error: [c, b]
          on-success: d
        d:
          action: std.noop
          on-error: a
    """)


def mesh(n: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    text = ""
    for i in range(n):
        text += f"t{i}:\n  action: std.noop\n"
        later = list(range(i + 1, min(n, i + 12)))
        if later:
            text += "  on-success:\n" + "".join(f"    - t{j}\n" for j in rng.sample(later, min(len(later), 2)))
        if i > 3 and rng.random() < 0.2:
            text += f"  on-error: [t{rng.randrange(0, i)}]\n"
    return wf(text, head="  task-defaults:\n    on-complete: [sink]\n") + "    sink:\n      action: std.noop\n"


def scattered(n: int) -> str:
    return wf("".join(f"solo{i}:\n  action: std.noop\n" for i in range(n)))


def mixed() -> str:
    """Two separate flows, a task on its own and engine commands: several parts to pack."""
    return wf("""
        a1:
          action: std.noop
          on-success: a2
        a2:
          action: std.noop
          on-error: fail
        lonely:
          action: std.noop
        b1:
          action: std.noop
          on-success: [b2, b3]
        b2:
          action: std.noop
          on-success: succeed
        b3:
          action: std.noop
          on-success: pause
    """)


SHAPES = {
    "chain": chain(12), "fan": fan(15), "retry loops": retry_loops(), "mesh of 200": mesh(200),
    "disconnected": scattered(30), "mixed parts": mixed(), "direct": DIRECT,
}


def edges_of(g: graph.WorkflowGraph) -> set[tuple[str, str, str]]:
    return {(g.nodes[e.source].label, g.nodes[e.target].label, e.kind) for e in g.edges}


def laid_out(g: graph.WorkflowGraph) -> Layout:
    nodes = list(g.nodes.values())
    index = {node.id: i for i, node in enumerate(nodes)}
    return layout([node_size(node) for node in nodes], [(index[e.source], index[e.target]) for e in g.edges])


def parse_svg(markup: Markup) -> ET.Element:
    """The figure parsed as XML: the drawing must be well-formed whatever the names hold."""
    figure = ET.fromstring(str(markup))
    assert figure.tag == "figure"
    return figure


# -- the graph's model ------------------------------------------------------------------------------

def test_tasks_and_transitions_by_kind() -> None:
    g = graph.from_definition(DIRECT)

    assert g.name == "flow" and g.type == "direct" and g.description == "an order"
    assert g.task_names == ["fetch", "check", "notify", "merge", "report"]
    assert edges_of(g) == {
        ("fetch", "check", "on-success"), ("fetch", "notify", "on-success"), ("fetch", "fail", "on-error"),
        ("check", "merge", "on-complete"), ("check", "report", "on-skip"), ("check", "report", "on-error"),
        ("notify", "merge", "on-success"), ("notify", "report", "on-error"), ("merge", "merge", "on-error"),
    }
    conditional = [e for e in g.edges if e.condition]
    assert [(g.nodes[e.target].label, e.condition) for e in conditional] == [("check", "<% $.ok %>")]


def test_task_defaults_are_marked_and_never_lead_a_task_to_itself() -> None:
    g = graph.from_definition(DIRECT)
    defaults = {(g.nodes[e.source].label, g.nodes[e.target].label) for e in g.edges if e.from_defaults}

    # merge has its own on-error; report would lead to itself; fetch has its own on-error.
    assert defaults == {("check", "report"), ("notify", "report")}


def test_engine_commands_are_drawn_once_per_task_with_their_parameters() -> None:
    g = graph.from_definition(mixed())
    commands = [n for n in g.nodes.values() if n.kind == "command"]

    assert sorted(n.label for n in commands) == ["fail", "pause", "succeed"]
    assert len({n.id for n in commands}) == 3
    fail = next(n for n in graph.from_definition(DIRECT).nodes.values() if n.kind == "command")
    assert (fail.label, fail.detail) == ("fail", "msg=could not fetch")


def test_markers_of_join_with_items_subworkflow_and_async() -> None:
    g = graph.from_definition(DIRECT)

    assert g.task_node("merge").join == "all" and "join: all" in g.task_node("merge").markers
    assert g.task_node("notify").with_items and g.task_node("notify").subworkflow == "notifier"
    assert g.task_node("notify").markers == ("with-items", "sub-workflow")
    assert g.task_node("check").is_async and g.task_node("check").markers == ("async",)
    assert not g.task_node("fetch").is_async  # std.http answers at once; std.mistral_http would not
    assert [n.label for n in g.nodes.values() if n.is_start] == ["fetch"]


def test_join_of_one_and_of_a_number_keep_their_wording() -> None:
    text = wf("""
        a:
          on-success: [c, d]
        b:
          on-success: [c, d]
        c:
          join: one
        d:
          join: 2
    """)
    g = graph.from_definition(text)

    assert (g.task_node("c").join, g.task_node("d").join) == ("one", "2")
    assert g.task_node("a").detail == "std.noop"


def test_mistral_http_and_a_workbook_action_based_on_an_async_one_are_async() -> None:
    book = """
    version: '2.0'
    name: shop
    actions:
      ask:
        base: std.async_noop
      shout:
        base: std.echo output=hi
    workflows:
      main:
        tasks:
          one:
            action: ask
            on-success: two
          two:
            action: shout
            on-success: three
          three:
            action: std.mistral_http url=http://example.com
      other:
        tasks:
          solo:
            action: std.noop
    """
    g = graph.from_definition(textwrap.dedent(book), "main")

    assert g.name == "shop.main"
    assert [g.task_node(t).is_async for t in ("one", "two", "three")] == [True, False, True]
    assert graph.from_definition(textwrap.dedent(book), "shop.other").task_names == ["solo"]
    assert graph.from_definition(textwrap.dedent(book)).name == "shop.main"


def test_an_is_async_callback_decides_instead_of_the_registry() -> None:
    g = graph.from_definition(DIRECT, is_async=lambda name: name == "std.http")

    assert g.task_node("fetch").is_async and not g.task_node("check").is_async


def test_a_workflow_not_in_the_definition_is_refused_with_the_names_it_has() -> None:
    with pytest.raises(NotFound, match="'nope' is not in this definition.*flow"):
        graph.from_definition(DIRECT, "nope")


def test_an_invalid_definition_raises_the_parsers_problems() -> None:
    with pytest.raises(DSLError) as caught:
        graph.from_definition(wf("a:\n  action: std.noop\n  on-success: missing\n"))

    assert any("Task 'missing' not found" in problem for problem in caught.value.problems)


def test_reverse_workflows_draw_requires_from_the_required_task() -> None:
    text = """
    version: '2.0'
    build:
      type: reverse
      task-defaults:
        requires: [checkout]
      tasks:
        checkout:
          action: std.noop
        compile:
          action: std.noop
        test:
          action: std.noop
          requires: [compile]
        package:
          action: std.noop
          requires: [test, compile]
    """
    g = graph.from_definition(textwrap.dedent(text))

    assert g.type == "reverse"
    assert edges_of(g) == {
        ("checkout", "compile", "requires"), ("compile", "test", "requires"), ("checkout", "test", "requires"),
        ("test", "package", "requires"), ("compile", "package", "requires"), ("checkout", "package", "requires"),
    }
    assert {(g.nodes[e.source].label, g.nodes[e.target].label) for e in g.edges if e.from_defaults} == {
        ("checkout", "compile"), ("checkout", "test"), ("checkout", "package")}
    assert [n.label for n in g.nodes.values() if n.is_start] == ["checkout"]
    assert "requires" in str(graph.render_svg(g))


def test_a_target_known_only_at_run_time_is_a_dynamic_node() -> None:
    # The parser refuses such targets today; a spec that has one is still drawn as what it is.
    spec = WorkflowSpec(name="dyn", tasks={
        "pick": TaskSpec(name="pick", action="std.noop",
                         on_success=OnClause((Transition("<% $.next %>"),))),
        "a": TaskSpec(name="a", action="std.noop"),
    })
    g = graph.from_spec(spec)
    dynamic = [n for n in g.nodes.values() if n.kind == "dynamic"]

    assert [n.label for n in dynamic] == ["<% $.next %>"]
    figure = parse_svg(graph.render_svg(g))
    node = figure.find(f".//{SVG}g[@data-node='{dynamic[0].id}']")
    assert node is not None and "kind-dynamic" in node.get("class", "")


def test_the_stored_spec_of_an_execution_draws_the_same_graph() -> None:
    (spec,) = __import__("app.engine.language.parser", fromlist=["x"]).parse_workflows(DIRECT)
    g = graph.from_stored_spec({"name": "flow", **spec.raw}, "flow")

    assert edges_of(g) == edges_of(graph.from_definition(DIRECT))


def test_latest_states_and_the_polled_payload() -> None:
    tasks = [
        {"name": "a", "state": "ERROR", "created_at": "2026-01-01 10:00:00"},
        {"name": "b", "state": "RUNNING", "created_at": "2026-01-01 10:00:01"},
        {"name": "a", "state": "SUCCESS", "created_at": "2026-01-01 10:00:05"},
    ]
    states = graph.latest_states(reversed(tasks))

    assert states == {"a": "SUCCESS", "b": "RUNNING"}
    assert graph.states_payload(states, "RUNNING") == {"tasks": states, "next_tasks": {}, "state": "RUNNING",
                                                       "live": True, "done": False}
    assert graph.states_payload(states, "ERROR")["done"] is True
    assert graph.states_payload(states, "ERROR", {"a": ("b",)})["next_tasks"] == {"a": ["b"]}


def test_the_transitions_a_run_took_are_marked() -> None:
    tasks = [
        {"name": "fetch", "state": "ERROR", "created_at": "2026-01-01 10:00:00", "next_tasks": ["fail"]},
        {"name": "fetch", "state": "SUCCESS", "created_at": "2026-01-01 10:00:09", "next_tasks": ["check", "notify"]},
        {"name": "check", "state": "SKIPPED", "created_at": "2026-01-01 10:00:10", "next_tasks": ["merge", "report"]},
        {"name": "notify", "state": "ERROR", "created_at": "2026-01-01 10:00:10", "next_tasks": ["report"]},
    ]
    figure = parse_svg(graph.render_svg(graph.from_definition(DIRECT), graph.latest_states(tasks),
                                        next_tasks=graph.latest_next_tasks(tasks)))
    fired = {(e.get("data-source"), e.get("data-target")) for e in figure.iter(f"{SVG}g")
             if "fired" in e.get("class", "").split()}

    # The earlier failed run of fetch is history; a skipped check follows its on-skip, not its
    # on-complete (a skipped task completes nothing), even though both were named.
    assert fired == {("fetch", "check"), ("fetch", "notify"), ("check", "report"), ("notify", "report")}


# -- the layout -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", list(SHAPES))
def test_no_two_boxes_overlap(shape: str) -> None:
    g = graph.from_definition(SHAPES[shape])
    placed = laid_out(g)

    assert len(placed.boxes) == len(g.nodes)
    for (i, a), (j, b) in itertools.combinations(enumerate(placed.boxes), 2):
        assert not a.overlaps(b), f"{shape}: {list(g.nodes)[i]} {a} overlaps {list(g.nodes)[j]} {b}"
    for box in placed.boxes:
        assert 0 <= box.x and box.x + box.w <= placed.width and 0 <= box.y and box.y + box.h <= placed.height
    for route in placed.routes:
        assert all(0 <= x <= placed.width and 0 <= y <= placed.height for x, y in route.points)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_edge_labels_never_hide_a_box(shape: str) -> None:
    figure = parse_svg(graph.render_svg(graph.from_definition(SHAPES[shape])))

    def rect(element: ET.Element) -> Box:
        return Box(*(float(element.get(key, "0")) for key in ("x", "y", "width", "height")))

    boxes = [rect(r) for r in figure.iter(f"{SVG}rect") if r.get("class") == "wf-box"]
    labels = [rect(r) for label in figure.iter(f"{SVG}g") if label.get("class") == "wf-edge-label"
              for r in label.iter(f"{SVG}rect")]
    assert len(boxes) == len(graph.from_definition(SHAPES[shape]).nodes)
    assert not [(label, box) for label in labels for box in boxes if label.overlaps(box)]


def test_layers_follow_the_flow_and_cycles_still_draw() -> None:
    g = graph.from_definition(chain(6))
    placed = laid_out(g)
    tops = [box.y for box in placed.boxes]
    assert tops == sorted(tops) and len(set(tops)) == 6

    loops = graph.from_definition(retry_loops())
    drawn = laid_out(loops)
    names = list(loops.nodes)
    backward = {(names[r.source], names[r.target]) for r in drawn.routes if r.backward}
    assert backward == {("task:b", "task:a"), ("task:c", "task:b"), ("task:d", "task:a")}
    assert drawn.loops == (names.index("task:c"),)


def test_a_cycle_closed_far_below_goes_round_the_side_and_common_targets_share_a_lane() -> None:
    g = graph.from_definition(chain(8) + "      on-error: t1\n")  # the last task retries from the second
    placed = laid_out(g)
    names = list(g.nodes)
    route = placed.route(names.index("task:t7"), names.index("task:t1"))
    t1, t7 = placed.boxes[names.index("task:t1")], placed.boxes[names.index("task:t7")]
    right = max(box.x + box.w for box in placed.boxes)

    assert route.backward and max(x for x, _ in route.points) > right
    assert route.points[0] == (t7.cx, t7.y + t7.h) and route.points[-1] == (t1.cx, t1.y)

    handled = graph.from_definition(mesh(40))  # every task reports to "sink" (task-defaults)
    drawn = laid_out(handled)
    sink = list(handled.nodes).index("task:sink")
    into_sink = [r for r in drawn.routes if r.target == sink and len(r.points) > 2]
    assert len(into_sink) > 10
    bends = [point for r in into_sink for point in r.points[1:-1]]
    assert len(set(bends)) < len(bends) / 3  # they run through the same bends, not one lane each
    assert all(r.points[-1] == into_sink[0].points[-1] for r in into_sink)


def test_a_self_loop_and_its_label_get_room_of_their_own() -> None:
    sizes = [(120.0, 58.0)] * 3
    placed = layout(sizes, [(0, 1), (0, 2), (1, 1)], room=[0.0, 90.0, 0.0])
    loop_area = Box(placed.boxes[1].x, placed.boxes[1].y, placed.boxes[1].w + 90.0, placed.boxes[1].h)

    assert not loop_area.overlaps(placed.boxes[2]) and not loop_area.overlaps(placed.boxes[0])
    assert loop_area.x + loop_area.w <= placed.width


def test_the_layout_is_deterministic_across_processes() -> None:
    # Object hashes change from one process to the next: nothing may depend on them.
    script = textwrap.dedent("""
        import hashlib, sys
        from tests.unit.test_console_graph import mesh
        from app.console import graph
        svg = graph.render_svg(graph.from_definition(mesh(60)), {"t1": "RUNNING"}, lambda n: "/t/" + n)
        print(hashlib.sha256(str(svg).encode()).hexdigest())
    """)
    runs = {subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}).stdout
            for seed in ("1", "2")}
    here = hashlib.sha256(str(graph.render_svg(graph.from_definition(mesh(60)), {"t1": "RUNNING"},
                                               lambda n: "/t/" + n)).encode()).hexdigest()
    assert runs == {here + "\n"}


# -- the SVG --------------------------------------------------------------------------------------

def test_nodes_carry_task_state_link_and_accessible_names() -> None:
    g = graph.from_definition(DIRECT)
    figure = parse_svg(graph.render_svg(g, {"fetch": "SUCCESS", "check": "RUNNING_DELAYED"},
                                        lambda name: f"/console/tasks/{name}", selected="check"))
    svg = figure.find(f".//{SVG}svg")
    assert svg is not None and svg.get("role") == "group"
    assert svg.find(f"{SVG}title") is not None and "flow" in (svg.find(f"{SVG}title").text or "")
    assert "Starts with: fetch" in (svg.find(f"{SVG}desc").text or "")

    nodes = {node.get("data-task"): node for node in figure.iter() if node.get("data-task")}
    assert list(nodes) == g.task_names
    fetch, check, merge = nodes["fetch"], nodes["check"], nodes["merge"]
    assert fetch.tag == f"{SVG}a" and fetch.get("href") == "/console/tasks/fetch"
    assert "state-success" in fetch.get("class", "").split() and fetch.get("data-state") == "SUCCESS"
    assert "state-running_delayed" in check.get("class", "").split()
    assert "selected" in check.get("class", "").split() and check.get("aria-current") == "true"
    assert "state-none" in merge.get("class", "").split() and "join" in merge.get("class", "").split()
    assert fetch.get("aria-label", "").startswith("Task fetch, SUCCESS. std.http")
    assert "then on success check, on success notify, on error fail" in fetch.get("aria-label", "")
    assert merge.get("aria-label", "").startswith("Task merge, not started.")


def test_without_links_nodes_are_focusable_buttons() -> None:
    figure = parse_svg(graph.render_svg(graph.from_definition(chain(3))))
    nodes = [node for node in figure.iter() if node.get("data-task")]

    assert [(n.tag, n.get("role"), n.get("tabindex")) for n in nodes] == [(f"{SVG}g", "button", "0")] * 3


def test_edges_have_a_class_per_kind_and_a_visible_label() -> None:
    figure = parse_svg(graph.render_svg(graph.from_definition(DIRECT)))
    edges = [g for g in figure.iter(f"{SVG}g") if "wf-edge" in g.get("class", "").split()]
    by_pair = {(e.get("data-source"), e.get("data-target")): e for e in edges}

    success = by_pair[("fetch", "check")]
    assert "kind-on-success" in success.get("class", "") and "conditional" in success.get("class", "")
    assert [t.text for t in success.iter(f"{SVG}text")] == ["success: <% $.ok %>"]
    both = by_pair[("check", "report")]
    assert {"kind-on-skip", "kind-on-error", "multi"} <= set(both.get("class", "").split())
    assert "from-defaults" not in both.get("class", "").split()  # only its on-error comes from the defaults
    assert "from-defaults" in by_pair[("notify", "report")].get("class", "").split()
    assert "backward" in by_pair[("merge", "merge")].get("class", "").split()
    assert by_pair[("fetch", "fail")].find(f"{SVG}path").get("marker-end", "").endswith("-arrow-on-error)")
    legend = figure.find("figcaption")
    assert legend is not None and "on skip" in "".join(legend.itertext())


def test_names_from_users_are_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script>&\"'"
    text = wf(f"""
        '{evil.replace("'", "''")}':
          action: std.noop
          description: </desc><script>x</script>
          on-success:
            - next: <% $.a < 1 and "</text>" %>
        next:
          action: std.noop
    """, name="x<y")
    g = graph.from_definition(text)
    markup = graph.render_svg(g, {evil: "<b>RUNNING"}, lambda name: "/t/" + name)

    figure = parse_svg(markup)  # well-formed: every name and condition escaped
    assert "<script" not in str(markup) and "</text>\"" not in str(markup)
    node = next(n for n in figure.iter() if n.get("data-task") == evil)
    assert node.get("data-state") == "<b>RUNNING" and "state-brunning" in node.get("class", "").split()
    assert any(t.text and '"</text>"' in t.text for t in figure.iter(f"{SVG}title"))


def test_the_drawing_needs_no_inline_style_or_script() -> None:
    markup = str(graph.render_svg(graph.from_definition(DIRECT), {"fetch": "ERROR"}, lambda n: "/t/" + n))

    assert not re.search(r"\sstyle=|\son[a-z]+=|<script|javascript:", markup)


def test_live_states_are_offered_to_the_script() -> None:
    figure = parse_svg(graph.render_svg(graph.from_definition(chain(2)), states_url="/console/x/states?a=1&b=2",
                                        poll_ms=100))

    assert figure.get("data-states-url") == "/console/x/states?a=1&b=2"
    assert figure.get("data-poll-ms") == "500"  # never faster than twice a second


def test_a_graph_too_large_to_read_is_not_drawn_but_said_so() -> None:
    figure = parse_svg(graph.render_svg(graph.from_definition(chain(12)), max_nodes=10))

    assert figure.find(f".//{SVG}svg") is None
    assert "has 12 tasks" in "".join(figure.itertext()) and "up to 10 boxes" in "".join(figure.itertext())


def test_two_graphs_on_a_page_keep_their_ids_apart() -> None:
    one = parse_svg(graph.render_svg(graph.from_definition(chain(2))))
    other = parse_svg(graph.render_svg(graph.from_definition(DIRECT)))

    assert one.get("id") != other.get("id")
    ids = [e.get("id") for e in one.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


def test_the_static_files_need_no_build_and_no_outside_host() -> None:
    script = (ROOT / "app/console/static/graph.js").read_text()
    style = (ROOT / "app/console/static/graph.css").read_text()

    assert not re.search(r"\beval\(|new Function|innerHTML|https?://|import\s", script)
    assert "tramontane:task-select" in script and "data-states-url" in script
    assert not re.search(r"https?://|@import", style)


def test_the_api_process_does_not_load_the_graph_until_the_console_is_used(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys
        from app.config import Settings
        from app.factory import create_app
        create_app(Settings.from_env({{"DATABASE_URL": "sqlite:///{tmp_path}/t.db",
                                       "TRAMONTANE_DATA_DIR": "{tmp_path}"}}))
        print(sorted(m for m in sys.modules if m.startswith(("grandalf", "app.console"))))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)

    assert done.stdout.strip().splitlines()[-1] == "[]"


# -- the timeline ---------------------------------------------------------------------------------

TASKS = [
    {"id": "t2", "name": "second", "state": "RUNNING", "created_at": "2026-01-01 10:00:30", "updated_at": None},
    {"id": "t1", "name": "first", "state": "SUCCESS", "created_at": "2026-01-01 10:00:00",
     "started_at": "2026-01-01 10:00:00", "finished_at": "2026-01-01 10:00:30"},
]
ACTIONS = [
    {"task_execution_id": "t1", "name": "std.echo", "state": "SUCCESS", "created_at": "2026-01-01 10:00:00",
     "updated_at": "2026-01-01 10:00:15"},
    {"task_execution_id": "t2", "name": "std.async_noop", "state": "RUNNING", "created_at": "2026-01-01 10:00:30"},
    {"task_execution_id": "elsewhere", "name": "orphan", "state": "ERROR", "created_at": "2026-01-01 10:00:10",
     "updated_at": "2026-01-01 10:00:20"},
]
NOW = datetime(2026, 1, 1, 10, 1, 0)


def rows(markup: Markup) -> list[ET.Element]:
    root = ET.fromstring(str(markup))
    return root.findall(".//li")


def test_timeline_orders_tasks_with_their_actions_beneath() -> None:
    listed = rows(graph.render_timeline(TASKS, ACTIONS, now=NOW))
    names = [row.find(".//*[@class='wf-tl-name']").text for row in listed]

    assert names == ["first", "std.echo", "second", "std.async_noop", "orphan"]
    assert [("task" in r.get("class", "").split()) for r in listed] == [True, False, True, False, False]


def test_timeline_bars_are_placed_in_percent_of_the_span() -> None:
    listed = rows(graph.render_timeline(TASKS, ACTIONS, now=NOW))
    bars = [row.find(".//rect") for row in listed]

    # The span is 10:00:00 to now (10:01:00): first takes half of it, second starts halfway, still open.
    assert (bars[0].get("x"), bars[0].get("width")) == ("0.00%", "50.00%")
    assert (bars[1].get("x"), bars[1].get("width")) == ("0.00%", "25.00%")
    assert (bars[2].get("x"), bars[2].get("width")) == ("50.00%", "50.00%")
    assert "open" in listed[2].get("class", "").split() and "open" not in listed[0].get("class", "").split()
    assert "30 s so far" in "".join(listed[2].itertext())
    assert "state-running" in listed[2].get("class", "").split()


def test_timeline_takes_datetimes_and_iso_text_and_escapes_names() -> None:
    tasks = [{"name": "<img src=x>", "state": "SUCCESS", "created_at": datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
              "updated_at": "2026-01-01T09:00:02Z"}]
    markup = graph.render_timeline(tasks, [], now=NOW)

    assert "<img" not in str(markup)
    (row,) = rows(markup)
    assert "2 s" in "".join(row.itertext())


def test_timeline_task_names_link_like_the_graph() -> None:
    listed = rows(graph.render_timeline(TASKS, ACTIONS, now=NOW, link_for_task=lambda name: f"/t/{name}?x=1&y"))

    assert [row.get("data-task") for row in listed] == ["first", None, "second", None, None]
    assert listed[0].find(".//a").get("href") == "/t/first?x=1&y"
    assert listed[1].find(".//a") is None  # an action row names its action, not a task


def test_timeline_keeps_the_fraction_of_a_second_when_it_has_one() -> None:
    tasks = [{"name": "quick", "state": "SUCCESS", "created_at": datetime(2026, 1, 1, 9, 0, 0, 0),
              "finished_at": datetime(2026, 1, 1, 9, 0, 0, 200000)},
             {"name": "whole", "state": "SUCCESS", "created_at": "2026-01-01 09:00:00",
              "updated_at": "2026-01-01 09:00:00"}]
    quick, whole = rows(graph.render_timeline(tasks, [], now=NOW))

    assert "0.2 s" in "".join(quick.itertext()) and "< 1 s" in "".join(whole.itertext())


def test_timeline_counts_what_it_does_not_draw() -> None:
    actions = [{"task_execution_id": "t1", "name": "std.echo", "item_index": i, "state": "SUCCESS",
                "created_at": "2026-01-01 10:00:00", "updated_at": "2026-01-01 10:00:01"} for i in range(250)]
    listed = rows(graph.render_timeline(TASKS[1:], actions, now=NOW, actions_per_task=20))

    assert len(listed) == 1 + 20 + 1
    assert "230 more action executions" in "".join(listed[-1].itertext())


def test_an_execution_with_no_task_yet_says_so() -> None:
    assert "No task has started yet" in graph.render_timeline([], [])
