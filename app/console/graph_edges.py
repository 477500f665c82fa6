"""How the edges of a workflow graph run: which close cycles, which share lanes, which go round
the side, and the polyline each one is drawn along. Pure geometry, no layout library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SIDE_SPAN = 3  # a cycle closed more layers up than this goes round the side
SIDE_GAP = 12.0
BUNDLE = 3  # long edges into (or out of) one task share a lane from this many on

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """A node's rectangle: (x, y) is its top-left corner."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def overlaps(self, other: Box) -> bool:
        return (self.x < other.x + other.w and other.x < self.x + self.w
                and self.y < other.y + other.h and other.y < self.y + self.h)


@dataclass(frozen=True)
class Route:
    """The polyline of the edge(s) from ``source`` to ``target``, ends on the boxes' borders."""

    source: int
    target: int
    points: tuple[Point, ...]
    backward: bool = False  # drawn against the flow: the edge closes a cycle


@dataclass(frozen=True)
class Lane:
    """A bend shared by the long edges into (or out of) ``anchor`` as they pass layer ``rank``."""

    anchor: int
    rank: int
    side: str


def side_routes(side: list[tuple[int, int]], rank_of: dict[int, int], centers: dict[int, Point],
                gaps: dict[int, tuple[float, float]], right: float) -> dict[tuple[int, int], list[Point]]:
    """Bends of the links going round the right side: down into the gap below the source, right
    to a lane of their own, up, and left in the gap above the target (``gaps`` gives the middle
    of the gaps above and below each layer). Links whose heights do not overlap share a lane."""
    lane_ends: list[int] = []
    routes = {}
    for link in sorted(side, key=lambda link: (rank_of[link[1]], link)):
        top, bottom = rank_of[link[1]], rank_of[link[0]]
        lane = next((i for i, end in enumerate(lane_ends) if end < top), len(lane_ends))
        lane_ends[lane:lane + 1] = [bottom]
        x = right + SIDE_GAP * (lane + 1)
        nudge = (lane % 3 - 1) * 4.0  # runs sharing a gap stay apart
        below, above = gaps[bottom][1] + nudge, gaps[top][0] + nudge
        routes[link] = [(centers[link[0]][0], below), (x, below), (x, above), (centers[link[1]][0], above)]
    return routes


def layer_ranks(nodes: list[int], links: list[tuple[int, int]], backward: set[tuple[int, int]]) -> dict[int, int]:
    """Each node's layer, as grandalf computes it: one below the lowest of its predecessors."""
    preds: dict[int, list[int]] = {n: [] for n in nodes}
    succs: dict[int, list[int]] = {n: [] for n in nodes}
    for link in links:
        a, b = (link[1], link[0]) if link in backward else link
        succs[a].append(b)
        preds[b].append(a)
    waiting = {n: len(preds[n]) for n in nodes}
    ranks: dict[int, int] = {}
    queue = [n for n in nodes if not waiting[n]]
    for node in queue:
        ranks[node] = max((ranks[p] for p in preds[node]), default=-1) + 1
        for nxt in succs[node]:
            waiting[nxt] -= 1
            if not waiting[nxt]:
                queue.append(nxt)
    return ranks


def bundles(links: list[tuple[int, int]], backward: set[tuple[int, int]], ranks: dict[int, int],
             ) -> tuple[list[Lane], dict[tuple[int, int], list[Lane]]]:
    """Long edges into the same task, or out of the same task, share one lane of bends.

    A task many others lead to from far above (a common error handler, a final report), or one
    that leads far to many (a retry from the start), would otherwise get one lane per edge: a
    drawing as wide as the workflow is long, and a layout that spends its time routing them.
    Returns the lanes and, for each bundled link, the lanes it passes, top to bottom.
    """
    down = {link: ((link[1], link[0]) if link in backward else link) for link in links}
    long = [link for link, (top, bottom) in down.items() if ranks[bottom] - ranks[top] > 1]
    lanes: list[Lane] = []
    bundled: dict[tuple[int, int], list[Lane]] = {}
    for end, anchor_of in ((1, "in"), (0, "out")):
        groups: dict[int, list[tuple[int, int]]] = {}
        for link in long:
            if link not in bundled:
                groups.setdefault(down[link][end], []).append(link)
        for anchor, group in groups.items():
            if len(group) < BUNDLE:
                continue
            first = min(ranks[down[link][0]] for link in group) + 1
            last = max(ranks[down[link][1]] for link in group) - 1
            own = {rank: Lane(anchor, rank, anchor_of) for rank in range(first, last + 1)}
            lanes += own.values()
            for link in group:
                top, bottom = down[link]
                bundled[link] = [own[rank] for rank in range(ranks[top] + 1, ranks[bottom])]
    return lanes, bundled


def back_links(nodes: list[int], links: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Links closing a cycle in a depth-first walk from the start nodes, in definition order."""
    outgoing: dict[int, list[tuple[int, int]]] = {node: [] for node in nodes}
    incoming = {b for _, b in links}
    for link in links:
        outgoing[link[0]].append(link)
    state: dict[int, int] = {}  # 1 on the walk's path, 2 done
    backward: set[tuple[int, int]] = set()
    starts = [n for n in nodes if n not in incoming] + nodes
    for start in starts:
        if start in state:
            continue
        stack = [(start, iter(outgoing[start]))]
        state[start] = 1
        while stack:
            node, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                state[node] = 2
                stack.pop()
                continue
            target = following[1]
            if state.get(target) == 1:
                backward.add(following)
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(outgoing[target])))
    return backward


def edge_routes(pairs: Sequence[tuple[int, int]], boxes: Sequence[Box], controls: dict[tuple[int, int], list[Point]],
            links: dict[frozenset[int], tuple[int, int]]) -> tuple[Route, ...]:
    routes = []
    for a, b in dict.fromkeys(pairs):
        if a == b:
            continue
        laid = links[frozenset((a, b))]
        bends = list(controls.get(laid, []))
        if laid != (a, b):
            bends.reverse()
        start, end = boxes[a], boxes[b]
        if (b, a) in pairs:
            # Both directions between two boxes: bow each to its own side so they stay apart.
            side = 18.0 if laid == (a, b) else -18.0
            bends = [(x + side, y) for x, y in bends] or [((start.cx + end.cx) / 2 + side, (start.cy + end.cy) / 2)]
        first = bends[0] if bends else (end.cx, end.cy)
        last = bends[-1] if bends else (start.cx, start.cy)
        points = straightened([border(start, first), *bends, border(end, last)])
        routes.append(Route(a, b, tuple((round(x, 1), round(y, 1)) for x, y in points),
                            backward=end.cy < start.cy))
    return tuple(routes)


def straightened(points: list[Point]) -> list[Point]:
    """The points without the bends that lie on a straight line between their neighbours (a long
    edge passing layer after layer in the same lane)."""
    kept = points[:1]
    for here, after in zip(points[1:-1], points[2:], strict=True):
        (x0, y0), (x1, y1), (x2, y2) = kept[-1], here, after
        if abs((x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)) > 0.5 * max(1.0, abs(y2 - y0) + abs(x2 - x0)):
            kept.append(here)
    return [*kept, points[-1]] if len(points) > 1 else kept


def border(box: Box, toward: Point) -> Point:
    """Where the line from the box's centre toward ``toward`` leaves the box."""
    dx, dy = toward[0] - box.cx, toward[1] - box.cy
    if dx == 0 and dy == 0:
        return box.cx, box.cy
    scale = min(box.w / 2 / abs(dx) if dx else float("inf"), box.h / 2 / abs(dy) if dy else float("inf"))
    return box.cx + dx * scale, box.cy + dy * scale
