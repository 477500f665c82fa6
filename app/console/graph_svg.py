"""Draw a :class:`WorkflowGraph` as SVG, inside a figure the console's script makes live.

Everything a user wrote (task names, actions, conditions) is escaped. The drawing carries no
inline style or script (the console's Content-Security-Policy forbids both): colours come from
``graph.css`` through classes, behaviour from ``graph.js`` through ``data-*`` attributes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping

from markupsafe import Markup

from app.console.graph_layout import Box, Layout, Route, layout
from app.console.graph_model import EDGE_KINDS, Edge, Node, WorkflowGraph, fired

TASK_HEIGHT = 58.0
MAX_NODES = 1000  # a 1,000-box mesh takes about 3 s to lay out
SMALL_HEIGHT = 28.0
MIN_WIDTH, MAX_WIDTH = 112.0, 224.0
NAME_CHAR, DETAIL_CHAR, SMALL_CHAR = 7.6, 6.3, 6.8  # average glyph widths of the CSS's fonts
PADDING = 14.0
LABEL_CHARS = 26
LABEL_CHAR, LABEL_HEIGHT = 6.0, 15.0
LOOP_WIDTH = 34.0  # a self-loop's bow, right of its box
_STATE = re.compile(r"[^a-z0-9_-]")
_KIND_WORDS = {"on-success": "on success", "on-error": "on error", "on-complete": "on complete",
               "on-skip": "on skip", "requires": "requires"}

LinkFor = Callable[[str], str]


def render_svg(g: WorkflowGraph, task_states: Mapping[str, str] | None = None,
               link_for_task: LinkFor | None = None, *, selected: str | None = None,
               states_url: str | None = None, poll_ms: int = 2000, legend: bool = True,
               dom_id: str | None = None, next_tasks: Mapping[str, Iterable[str]] | None = None,
               max_nodes: int = MAX_NODES) -> Markup:
    """The graph as a ``<figure>`` holding its SVG (and a legend).

    ``task_states`` colours each task by its state (class ``state-<state>``); ``link_for_task``
    makes each task a link (to its details); ``selected`` marks one task; ``states_url`` is polled
    by ``graph.js`` for live states (see :func:`app.console.graph.states_payload`); ``next_tasks``
    (each task's ``next_tasks``: the tasks and commands its transitions started) marks the edges
    taken (class ``fired``). A graph of more than ``max_nodes`` boxes is not drawn (a note says
    so): it would hold the request for seconds and read as a blur.
    """
    if len(g.nodes) > max_nodes:
        return Markup('<figure class="wf-graph wf-graph-too-big" data-workflow="{name}"><p>{text}</p></figure>').format(
            name=g.name, text=f"{g.name} has {len(g.task_names):,} tasks ({len(g.nodes):,} boxes with its engine "
                              f"commands): too many to draw as a graph, which shows up to {max_nodes:,} boxes.")
    states = task_states or {}
    taken = {name: set(targets) for name, targets in (next_tasks or {}).items()}
    gid = dom_id or _dom_id(g)
    nodes = list(g.nodes.values())
    index = {node.id: i for i, node in enumerate(nodes)}
    pairs = [(index[e.source], index[e.target]) for e in g.edges if e.source in index and e.target in index]
    room = [0.0] * len(nodes)
    for a, b in pairs:
        if a == b:
            room[a] = LOOP_WIDTH + _label_width(_loop_text(g, nodes[a].id))
    placed = layout([_size(node) for node in nodes], pairs, room)
    svg = Markup("").join([
        Markup('<svg xmlns="http://www.w3.org/2000/svg" class="wf-graph-svg" width="{w}" height="{h}" '
               'viewBox="0 0 {w} {h}" role="group" aria-labelledby="{gid}-title" aria-describedby="{gid}-desc">'
               ).format(w=_n(placed.width), h=_n(placed.height), gid=gid),
        Markup('<title id="{gid}-title">{title}</title><desc id="{gid}-desc">{desc}</desc>').format(
            gid=gid, title=f"Workflow graph of {g.name}", desc=_summary(g)),
        _markers(gid),
        _edges(g, nodes, index, placed, gid, lambda source, target, kinds: _was_taken(
            g, source, target, kinds, states, taken)),
        _nodes(g, nodes, placed, states, link_for_task, selected),
        Markup("</svg>"),
    ])
    live = Markup("")
    if states_url:
        live = Markup(' data-states-url="{url}" data-poll-ms="{ms}"').format(url=states_url, ms=max(500, int(poll_ms)))
    return Markup(
        '<figure class="wf-graph" id="{gid}" data-workflow="{name}"{live}>'
        '<div class="wf-graph-tools"><button type="button" class="wf-graph-fit" aria-pressed="false" hidden="hidden">'
        'Fit to width</button></div>'
        '<div class="wf-graph-scroll" tabindex="-1">{svg}</div>{legend}</figure>'
    ).format(gid=gid, name=g.name, live=live, svg=svg, legend=_legend(g) if legend else "")


def node_size(node: Node) -> tuple[float, float]:
    return _size(node)


def _size(node: Node) -> tuple[float, float]:
    if node.kind != "task":
        width = len(node.label[:LABEL_CHARS]) * SMALL_CHAR + 2 * PADDING
        return _clamp(width, 64.0, MAX_WIDTH), SMALL_HEIGHT
    width = max(len(node.label) * NAME_CHAR, len(node.detail) * DETAIL_CHAR,
                len(" · ".join(node.markers)) * DETAIL_CHAR) + 2 * PADDING
    return _clamp(width, MIN_WIDTH, MAX_WIDTH), TASK_HEIGHT


def _clamp(value: float, low: float, high: float) -> float:
    return round(min(max(value, low), high), 1)


def _dom_id(g: WorkflowGraph) -> str:
    return "wfg-" + hashlib.sha1(g.name.encode(), usedforsecurity=False).hexdigest()[:8]


def _n(value: float) -> str:
    tenth = round(value, 1)
    whole = int(tenth)
    return str(whole) if whole == tenth else str(tenth)


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(1, chars - 1)] + "…"


def _chars(width: float, glyph: float) -> int:
    return max(4, int((width - 2 * PADDING) / glyph))


def state_class(state: str | None) -> str:
    if not state:
        return "state-none"
    return "state-" + (_STATE.sub("", state.lower()) or "unknown")


def _summary(g: WorkflowGraph) -> str:
    tasks = g.task_names
    starts = [n.label for n in g.nodes.values() if n.is_start]
    kind = "Reverse" if g.type == "reverse" else "Direct"
    text = f"{kind} workflow with {len(tasks)} task{'s' if len(tasks) != 1 else ''} and {len(g.edges)} " \
           f"{'dependencies' if g.type == 'reverse' else 'transitions'}."
    if starts:
        text += f" {'Runs first' if g.type == 'reverse' else 'Starts with'}: {', '.join(starts[:12])}"
        text += "…" if len(starts) > 12 else "."
    if g.description:
        text += f" {g.description}"
    return text


def _markers(gid: str) -> Markup:
    arrows = Markup("").join(
        Markup('<marker id="{gid}-arrow-{kind}" class="wf-arrow kind-{kind}" viewBox="0 0 10 10" refX="9" refY="5" '
               'markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
               '<path d="M0,0 L10,5 L0,10 z"/></marker>').format(gid=gid, kind=kind)
        for kind in EDGE_KINDS)
    return Markup("<defs>{}</defs>").format(arrows)


def _was_taken(g: WorkflowGraph, source: Node, target: Node, kinds: list[str], states: Mapping[str, str],
               taken: Mapping[str, set[str]]) -> bool:
    if source.task is None or target.label not in taken.get(source.task, ()):
        return False
    has_skip = any(edge.kind == "on-skip" for edge in g.edges_from(source.id))
    return fired(kinds, states.get(source.task), has_skip)


def _edges(g: WorkflowGraph, nodes: list[Node], index: dict[str, int], placed: Layout, gid: str,
           was_taken: Callable[[Node, Node, list[str]], bool]) -> Markup:
    grouped: dict[tuple[int, int], list[Edge]] = {}
    for edge in g.edges:
        if edge.source in index and edge.target in index:
            grouped.setdefault((index[edge.source], index[edge.target]), []).append(edge)
    labels = _LabelPlacer(placed.boxes)
    routes = {(route.source, route.target): route for route in placed.routes}
    parts = []
    for (a, b), edges in grouped.items():
        source, target = nodes[a], nodes[b]
        text = _edges_text(edges)
        width = _label_width(text)
        if a == b:
            box = placed.boxes[a]
            path = _loop_path(box)
            label_at = labels.place([(box.x + box.w + LOOP_WIDTH + width / 2, box.cy)], width)
            backward = True
        else:
            route = routes[(a, b)]
            path, label_at = _path(route), labels.place(_label_candidates(route), width)
            backward = route.backward
        kinds = list(dict.fromkeys(edge.kind for edge in edges))
        classes = ["wf-edge", *(f"kind-{kind}" for kind in kinds)]
        classes += ["conditional"] if any(e.condition for e in edges) else []
        classes += ["from-defaults"] if all(e.from_defaults for e in edges) else []
        classes += ["backward"] if backward else []
        classes += ["multi"] if len(kinds) > 1 else []
        classes += ["fired"] if was_taken(source, target, kinds) else []
        parts.append(Markup(
            '<g class="{classes}" data-source="{src}" data-target="{dst}"><title>{title}</title>'
            '<path d="{d}" marker-end="url(#{gid}-arrow-{kind})"/>'
            '<g class="wf-edge-label"><rect x="{lx}" y="{ly}" width="{lw}" height="{lh}" rx="3"/>'
            '<text x="{tx}" y="{ty}" text-anchor="middle">{text}</text></g></g>'
        ).format(classes=" ".join(classes), src=source.task or source.label, dst=target.task or target.label,
                 title="\n".join(_edge_title(source, target, e) for e in edges), d=path, gid=gid, kind=kinds[0],
                 lx=_n(label_at[0] - width / 2), ly=_n(label_at[1] - LABEL_HEIGHT / 2), lw=_n(width),
                 lh=_n(LABEL_HEIGHT), tx=_n(label_at[0]), ty=_n(label_at[1] + 3.5), text=text))
    return Markup('<g class="wf-edges" aria-hidden="true">{}</g>').format(Markup("").join(parts))


class _LabelPlacer:
    """Puts each edge label at the first of its candidate points where it covers no box and no
    label placed before it (or, failing that, at its first candidate)."""

    CELL = 80.0

    def __init__(self, boxes: Iterable[Box]) -> None:
        self.cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}
        for box in boxes:
            self._add((box.x, box.y, box.x + box.w, box.y + box.h))

    def place(self, candidates: Iterable[tuple[float, float]], width: float) -> tuple[float, float]:
        best: tuple[int, tuple[float, float]] | None = None
        for point in candidates:
            hits = self._hits(self._rect(point[0], point[1], width))
            if best is None or hits < best[0]:
                best = (hits, point)
            if hits == 0:
                break
        assert best is not None, "every edge has a place for its label"
        x, y = best[1]
        self._add(self._rect(x, y, width))
        return x, y

    @staticmethod
    def _rect(x: float, y: float, width: float) -> tuple[float, float, float, float]:
        return x - width / 2 - 2, y - LABEL_HEIGHT / 2 - 1, x + width / 2 + 2, y + LABEL_HEIGHT / 2 + 1

    def _keys(self, rect: tuple[float, float, float, float]) -> list[tuple[int, int]]:
        x0, y0, x1, y1 = (int(v // self.CELL) for v in rect)
        return [(i, j) for i in range(x0, x1 + 1) for j in range(y0, y1 + 1)]

    def _add(self, rect: tuple[float, float, float, float]) -> None:
        for key in self._keys(rect):
            self.cells.setdefault(key, []).append(rect)

    def _hits(self, rect: tuple[float, float, float, float]) -> int:
        ax0, ay0, ax1, ay1 = rect
        found = {other for key in self._keys(rect) for other in self.cells.get(key, ())
                 if ax0 < other[2] and other[0] < ax1 and ay0 < other[3] and other[1] < ay1}
        return len(found)


def _label_candidates(route: Route) -> Iterator[tuple[float, float]]:
    """Points along the route, the middle of its first stretch (between two layers) first."""
    points = route.points
    stretches = [(points[0], points[1])]
    if len(points) > 2:
        stretches += [(points[-2], points[-1])] + list(zip(points[1:-2], points[2:-1], strict=True))
    for (x0, y0), (x1, y1) in stretches:
        for t in (0.5, 0.38, 0.62, 0.26, 0.74, 0.14, 0.86):
            yield x0 + (x1 - x0) * t, y0 + (y1 - y0) * t


def _edges_text(edges: list[Edge]) -> str:
    return _fit(" · ".join(_edge_label(e) for e in edges), LABEL_CHARS + 6)


def _loop_text(g: WorkflowGraph, node_id: str) -> str:
    return _edges_text([e for e in g.edges if e.source == node_id and e.target == node_id])


def _label_width(text: str) -> float:
    return len(text) * LABEL_CHAR + 8


def _edge_label(edge: Edge) -> str:
    word = edge.short_kind
    return f"{word}: {edge.condition}" if edge.condition else word


def _edge_title(source: Node, target: Node, edge: Edge) -> str:
    text = f"{source.label} → {target.label}: {_KIND_WORDS.get(edge.kind, edge.kind)}"
    if edge.kind == "requires":
        text = f"{target.label} requires {source.label}"
    if edge.condition:
        text += f" when {edge.condition}"
    if edge.from_defaults:
        text += " (from task-defaults)"
    return text


def _path(route: Route) -> str:
    """A line through the route's points, its bends rounded (a quadratic curve at each)."""
    points = route.points
    d = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for i in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = points[i - 1], points[i], points[i + 1]
        d.append(f"L{(x0 + x1) / 2:.1f},{(y0 + y1) / 2:.1f} Q{x1:.1f},{y1:.1f} {(x1 + x2) / 2:.1f},{(y1 + y2) / 2:.1f}")
    d.append(f"L{points[-1][0]:.1f},{points[-1][1]:.1f}")
    return " ".join(d)


def _loop_path(box: Box) -> str:
    right, top, bottom = box.x + box.w, box.cy - 10, box.cy + 10
    return (f"M{_n(right)},{_n(top)} C{_n(right + 34)},{_n(top - 22)} {_n(right + 34)},{_n(bottom + 22)} "
            f"{_n(right)},{_n(bottom)}")


def _nodes(g: WorkflowGraph, nodes: list[Node], placed: Layout, states: Mapping[str, str],
           link_for_task: LinkFor | None, selected: str | None) -> Markup:
    outgoing: dict[str, list[str]] = {}
    for edge in g.edges:
        target = g.nodes.get(edge.target)
        if target is not None:
            word = _KIND_WORDS.get(edge.kind, edge.kind)
            outgoing.setdefault(edge.source, []).append(f"{word} {target.label}")
    parts = [_task(node, box, states.get(node.task), link_for_task, node.task == selected, outgoing.get(node.id, []))
             if node.task is not None else _small(node, box)
             for node, box in zip(nodes, placed.boxes, strict=True)]
    return Markup('<g class="wf-nodes">{}</g>').format(Markup("").join(parts))


def _task(node: Node, box: Box, state: str | None, link_for_task: LinkFor | None, is_selected: bool,
          outgoing: list[str]) -> Markup:
    name = node.task or node.label
    classes = ["wf-node", "kind-task", state_class(state)]
    classes += [flag for flag, on in (("start", node.is_start), ("join", node.join is not None),
                                      ("with-items", node.with_items), ("subworkflow", node.subworkflow is not None),
                                      ("async", node.is_async), ("selected", is_selected)) if on]
    summary = _task_summary(node, outgoing)
    inner = Markup("").join([
        Markup("<title>{}</title>").format(_task_title(node, state)),
        Markup('<rect class="wf-box" x="{x}" y="{y}" width="{w}" height="{h}" rx="7"/>').format(
            x=_n(box.x), y=_n(box.y), w=_n(box.w), h=_n(box.h)),
        Markup('<rect class="wf-box-inner" x="{x}" y="{y}" width="{w}" height="{h}" rx="5"/>').format(
            x=_n(box.x + 3), y=_n(box.y + 3), w=_n(box.w - 6), h=_n(box.h - 6))
        if node.subworkflow is not None else Markup(""),
        Markup('<path class="wf-join-mark" d="M{x},{y} l7,7 l-7,7 l-7,-7 z"/>').format(
            x=_n(box.cx), y=_n(box.y - 7)) if node.join is not None else Markup(""),
        Markup('<rect class="wf-state-bar" x="{x}" y="{y}" width="5" height="{h}" rx="2"/>').format(
            x=_n(box.x + 1), y=_n(box.y + 1), h=_n(box.h - 2)),
        Markup('<text class="wf-name" x="{x}" y="{y}">{t}</text>').format(
            x=_n(box.x + PADDING), y=_n(box.y + 20), t=_fit(name, _chars(box.w, NAME_CHAR))),
        Markup('<text class="wf-detail" x="{x}" y="{y}">{t}</text>').format(
            x=_n(box.x + PADDING), y=_n(box.y + 36), t=_fit(node.detail, _chars(box.w, DETAIL_CHAR))),
        Markup('<text class="wf-markers" x="{x}" y="{y}">{t}</text>').format(
            x=_n(box.x + PADDING), y=_n(box.y + 50), t=_fit(" · ".join(node.markers), _chars(box.w, DETAIL_CHAR)))
        if node.markers else Markup(""),
    ])
    common = Markup(
        'class="{classes}" data-task="{task}" data-state="{state}" data-summary="{summary}" aria-label="{label}"{cur}'
    ).format(classes=" ".join(classes), task=name, state=state or "", summary=summary,
             label=_aria_label(name, state, summary),
             cur=Markup(' aria-current="true"') if is_selected else Markup(""))
    if link_for_task is not None:
        return Markup('<a href="{href}" {common}>{inner}</a>').format(href=link_for_task(name), common=common,
                                                                       inner=inner)
    return Markup('<g role="button" tabindex="0" {common}>{inner}</g>').format(common=common, inner=inner)


def _task_summary(node: Node, outgoing: Iterable[str]) -> str:
    parts = [node.detail]
    parts += list(node.markers)
    parts += [f"then {', '.join(outgoing)}"] if outgoing else []
    return ". ".join(part for part in parts if part)


def _aria_label(name: str, state: str | None, summary: str) -> str:
    return f"Task {name}, {state or 'not started'}. {summary}".strip()


def _task_title(node: Node, state: str | None) -> str:
    lines = [f"{node.task} ({state or 'not started'})", node.detail]
    lines += [", ".join(node.markers)] if node.markers else []
    lines += [node.description] if node.description else []
    return "\n".join(line for line in lines if line)


def _small(node: Node, box: Box) -> Markup:
    word = "Run-time target" if node.kind == "dynamic" else "Engine command"
    title = f"{word}: {node.label}" + (f" ({node.detail})" if node.detail else "")
    return Markup(
        '<g class="wf-node kind-{kind} cmd-{cmd}" data-node="{nid}"><title>{title}</title>'
        '<rect class="wf-box" x="{x}" y="{y}" width="{w}" height="{h}" rx="{r}"/>'
        '<text class="wf-name" x="{tx}" y="{ty}" text-anchor="middle">{t}</text></g>'
    ).format(kind=node.kind, cmd=_STATE.sub("", node.label.lower())[:20] or "expr", nid=node.id, title=title,
             x=_n(box.x), y=_n(box.y), w=_n(box.w), h=_n(box.h), r=_n(box.h / 2),
             tx=_n(box.cx), ty=_n(box.cy + 4), t=_fit(node.label, LABEL_CHARS))


def _legend(g: WorkflowGraph) -> Markup:
    kinds = list(dict.fromkeys(edge.kind for edge in g.edges))
    items = [Markup('<li class="wf-legend-edge kind-{kind}"><svg width="28" height="10" aria-hidden="true">'
                    '<line x1="1" y1="5" x2="27" y2="5"/></svg>{word}</li>').format(kind=kind,
                                                                                  word=_KIND_WORDS[kind])
             for kind in EDGE_KINDS if kind in kinds]
    if any(edge.from_defaults for edge in g.edges):
        items.append(Markup('<li class="wf-legend-edge from-defaults"><svg width="28" height="10" aria-hidden="true">'
                            '<line x1="1" y1="5" x2="27" y2="5"/></svg>from task-defaults</li>'))
    if any(node.join is not None for node in g.nodes.values()):
        items.append(Markup('<li class="wf-legend-join"><svg width="14" height="14" aria-hidden="true">'
                            '<path class="wf-join-mark" d="M7,0 l7,7 l-7,7 l-7,-7 z"/></svg>join</li>'))
    if any(edge.condition for edge in g.edges):
        items.append(Markup('<li class="wf-legend-note">a label "kind: condition" fires only when the condition '
                            'holds</li>'))
    if not items:
        return Markup("")
    return Markup('<figcaption class="wf-graph-legend"><ul>{}</ul></figcaption>').format(Markup("").join(items))
