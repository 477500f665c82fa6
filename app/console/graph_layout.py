"""Where each box and edge of a workflow graph goes: a layered (Sugiyama) layout by grandalf.

Each connected part of the graph is laid out on its own, top to bottom, and the parts are packed
in rows. grandalf leaves the choice of roots and of the edges to turn around (to break cycles) to
its caller: they are chosen here by a depth-first walk in definition order, so the same graph
always gets the same drawing. Its coordinate step may leave two boxes of a layer closer than
their widths allow; a last sweep per layer pushes them apart, so no two boxes ever overlap.
Before the layout, long edges into or out of one task are given shared lanes and cycles closed
far below go round the side (:mod:`app.console.graph_edges`): both keep the drawing narrow and
the layout well within a second for 200 tasks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from grandalf.graphs import Edge as LayoutEdge
from grandalf.graphs import Vertex, graph_core
from grandalf.layouts import SugiyamaLayout
from grandalf.utils.poset import Poset

from app.console.graph_edges import (
    SIDE_SPAN,
    Box,
    Point,
    Route,
    back_links,
    bundles,
    edge_routes,
    layer_ranks,
    side_routes,
)

X_SPACE = 36.0  # between boxes of a layer
Y_SPACE = 54.0  # between layers: room for an edge's label
PART_GAP = 48.0  # between the separately laid out parts
MARGIN = 16.0
LANE = 14.0  # the width a long edge takes as it passes a layer
ROW_WIDTH = 1100.0  # parts are packed in rows about this wide
ORDERING_ROUNDS = 2
CROWDED = 2500


@dataclass(frozen=True)
class Layout:
    boxes: tuple[Box, ...]
    routes: tuple[Route, ...]
    loops: tuple[int, ...]
    width: float
    height: float

    def route(self, source: int, target: int) -> Route:
        for route in self.routes:
            if route.source == source and route.target == target:
                return route
        raise KeyError((source, target))


class _Sugiyama(SugiyamaLayout):
    """grandalf's layout, its alignment conflicts kept in a set: it looks each one up per vertex
    pair, and a list made that quadratic (seconds for 200 tasks with a common error handler)."""

    def _detect_alignment_conflicts(self) -> None:
        super()._detect_alignment_conflicts()
        self.conflicts: Any = set(self.conflicts)


class _Connected(graph_core):
    """A part of the graph already known to be connected (this module finds the parts itself).

    grandalf's own constructor checks connectivity by comparing sets once per vertex, which is
    quadratic; it is the slowest step of a 200-task layout. The rest is what it does: the vertex
    and edge sets, and each edge attached to its two vertices.
    """

    def __init__(self, vertices: list[Vertex], edges: list[LayoutEdge]) -> None:
        self.directed = True
        self.sV = Poset(vertices)
        self.sE = Poset([])
        self.degenerated_edges: set[LayoutEdge] = set()
        for edge in edges:
            self.sE.add(edge).attach()
        for vertex in vertices:
            vertex.c = self


class _View:
    """What grandalf reads (w, h) and writes (xy) for each vertex."""

    __slots__ = ("w", "h", "xy")

    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy: Point = (0.0, 0.0)


@dataclass
class _Part:
    nodes: list[int]
    centers: dict[int, Point]
    controls: dict[tuple[int, int], list[Point]]
    width: float
    height: float


def layout(sizes: Sequence[tuple[float, float]], pairs: Sequence[tuple[int, int]],
           room: Sequence[float] | None = None) -> Layout:
    """Lay out nodes ``0..n-1`` of the given (width, height) joined by directed ``pairs``.

    ``room`` keeps free space on the right of some boxes (where a self-loop and its label go).
    Deterministic: the same input gives the same output; cached, since a page draws the same
    workflow again and again.
    """
    extra = tuple(float(r) for r in room) if room is not None else (0.0,) * len(sizes)
    return _layout(tuple((float(w), float(h)) for w, h in sizes), tuple(pairs), extra)


@lru_cache(maxsize=64)
def _layout(sizes: tuple[Point, ...], pairs: tuple[tuple[int, int], ...], room: tuple[float, ...]) -> Layout:
    loops = tuple(sorted({a for a, b in pairs if a == b}))
    wide = [w + room[i] for i, (w, _) in enumerate(sizes)]
    # Layout edges are unordered pairs: a -> b and b -> a share one (grandalf keeps one edge per pair).
    links: dict[frozenset[int], tuple[int, int]] = {}
    for a, b in pairs:
        if a != b:
            links.setdefault(frozenset((a, b)), (a, b))
    parts = [_lay_part(nodes, [links[k] for k in links if min(k) in members], wide, sizes)
             for nodes, members in _components(len(sizes), list(links.values()))]
    offsets = _pack(parts)
    boxes: list[Box | None] = [None] * len(sizes)
    controls: dict[tuple[int, int], list[Point]] = {}
    for part, (dx, dy) in zip(parts, offsets, strict=True):
        for node in part.nodes:
            cx, cy = part.centers[node]
            w, h = sizes[node]
            # The room kept for a loop is on the right: the box keeps to the left of its slot.
            left = cx - wide[node] / 2 + dx
            boxes[node] = Box(round(left, 1), round(cy - h / 2 + dy, 1), w, h)
        for key, points in part.controls.items():
            controls[key] = [(x + dx, y + dy) for x, y in points]
    placed = tuple(box for box in boxes if box is not None)
    routes = edge_routes(pairs, placed, controls, links)
    bends = [point for route in routes for point in route.points]
    width = max([0.0, *(box.x + box.w + room[i] for i, box in enumerate(placed)), *(x for x, _ in bends)]) + MARGIN
    height = max([0.0, *(box.y + box.h for box in placed), *(y for _, y in bends)]) + MARGIN
    return Layout(placed, routes, loops, round(width, 1), round(height, 1))


def _components(count: int, links: list[tuple[int, int]]) -> list[tuple[list[int], set[int]]]:
    """Connected parts, each as its nodes in definition order, ordered by their first node."""
    parent = list(range(count))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for node in range(count):
        groups.setdefault(find(node), []).append(node)
    return [(nodes, set(nodes)) for nodes in groups.values()]


def _lay_part(nodes: list[int], links: list[tuple[int, int]], wide: list[float],
              sizes: Sequence[Point]) -> _Part:
    if len(nodes) == 1:
        (node,) = nodes
        return _Part(nodes, {node: (wide[node] / 2, sizes[node][1] / 2)}, {}, wide[node], sizes[node][1])
    backward = back_links(nodes, links)
    first_ranks = layer_ranks(nodes, links, backward)
    # A cycle closed far below its target goes round the side instead of through every layer.
    side = [link for link in links if link in backward and first_ranks[link[0]] - first_ranks[link[1]] > SIDE_SPAN]
    links = [link for link in links if link not in side]
    lanes, bundled = bundles(links, backward, layer_ranks(nodes, links, backward))
    lane_height = min(sizes[n][1] for n in nodes)
    vertices: dict[Hashable, Vertex] = {}
    for key in [*nodes, *lanes]:
        vertices[key] = Vertex(key)
        vertices[key].view = _View(wide[key], sizes[key][1]) if isinstance(key, int) else _View(LANE, lane_height)
    # Every link laid out runs down the layers, except the unbundled ones that close a cycle.
    laid: list[tuple[Hashable, Hashable]] = [link for link in links if link not in bundled]
    for link, path in bundled.items():
        top, bottom = (link[1], link[0]) if link in backward else link
        laid += [(top, path[0]), *zip(path, path[1:], strict=False), (path[-1], bottom)]
    laid = list(dict.fromkeys(laid))
    edges = {link: LayoutEdge(vertices[link[0]], vertices[link[1]]) for link in laid}
    graph = _Connected(list(vertices.values()), list(edges.values()))
    sugiyama = _Sugiyama(graph)
    sugiyama.xspace, sugiyama.yspace = X_SPACE, Y_SPACE
    # The bends of long edges (grandalf's dummy vertices) need no box's width, only a lane's.
    sugiyama.dw = LANE
    turned = [link for link in links if link in backward and link not in bundled]
    entered = {(link[0] if link in backward else link[1]) for link in laid}
    roots = [vertices[n] for n in nodes if n not in entered]
    sugiyama.init_all(roots=roots, inverted_edges=[edges[link] for link in turned])
    # Ordering costs about the number of vertices (bends included) per round: a very large
    # drawing gets one round, so that 200 tasks of any shape stay well within a second.
    crowded = sum(len(layer) for layer in sugiyama.layers) > CROWDED
    sugiyama.draw(1 if crowded else ORDERING_ROUNDS)
    _separate(sugiyama)
    centers = {node: vertices[node].view.xy for node in nodes}
    controls = {}
    for link in links:
        if link in bundled:
            points = [vertices[key].view.xy for key in bundled[link]]
            controls[link] = points[::-1] if link in backward else points
            continue
        edge = edges[link]
        ctrl = sugiyama.ctrls.get(edge)
        if ctrl:
            r0, r1 = sugiyama.grx[edge.v[0]].rank, sugiyama.grx[edge.v[1]].rank
            step = 1 if r0 < r1 else -1
            controls[link] = [ctrl[r].view.xy for r in range(r0 + step, r1, step)]
    right = max(centers[n][0] + wide[n] / 2 for n in nodes)
    right = max([right, *(x + LANE / 2 for points in controls.values() for x, _ in points)])
    gaps = {}
    for rank, layer in enumerate(sugiyama.layers):
        y, half = layer[0].view.xy[1], max(v.view.h for v in layer) / 2
        gaps[rank] = (y - half - Y_SPACE / 2, y + half + Y_SPACE / 2)
    rank_of = {n: sugiyama.grx[vertices[n]].rank for n in nodes}
    controls.update(side_routes(side, rank_of, centers, gaps, right))
    return _normalised(nodes, centers, controls, wide, sizes)


def _separate(sugiyama: SugiyamaLayout) -> None:
    """Push apart the boxes (and edge bends) of a layer that grandalf left too close."""
    for layer in sugiyama.layers:
        ordered = sorted(layer, key=lambda v: (v.view.xy[0], sugiyama.grx[v].pos))
        for before, after in zip(ordered, ordered[1:], strict=False):
            least = before.view.xy[0] + (before.view.w + after.view.w) / 2 + X_SPACE
            if after.view.xy[0] < least:
                after.view.xy = (least, after.view.xy[1])


def _normalised(nodes: list[int], centers: dict[int, Point], controls: dict[tuple[int, int], list[Point]],
                wide: list[float], sizes: Sequence[Point]) -> _Part:
    left = min(centers[n][0] - wide[n] / 2 for n in nodes)
    top = min(centers[n][1] - sizes[n][1] / 2 for n in nodes)
    for points in controls.values():
        left = min([left, *(x for x, _ in points)])
    moved = {n: (x - left, y - top) for n, (x, y) in centers.items()}
    bends = {key: [(x - left, y - top) for x, y in points] for key, points in controls.items()}
    width = max(moved[n][0] + wide[n] / 2 for n in nodes)
    height = max(moved[n][1] + sizes[n][1] / 2 for n in nodes)
    for points in bends.values():
        width = max([width, *(x for x, _ in points)])
    return _Part(nodes, moved, bends, width, height)


def _pack(parts: list[_Part]) -> list[Point]:
    """Offsets placing the parts left to right in rows, a new row when one is full."""
    limit = max([ROW_WIDTH, *(part.width for part in parts)])
    offsets = []
    x, y, row_height = MARGIN, MARGIN, 0.0
    for part in parts:
        if x > MARGIN and x + part.width > limit + MARGIN:
            x, y, row_height = MARGIN, y + row_height + PART_GAP, 0.0
        offsets.append((x, y))
        x += part.width + PART_GAP
        row_height = max(row_height, part.height)
    return offsets


