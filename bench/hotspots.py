"""Summarize a py-spy raw profile: ``python -m bench.hotspots FILE [--top N] [--filter TEXT]``.

Each line of the raw format is ``frame;frame;...;leaf count``. Printed: the leaf frames with the
most samples (self time), then the frames present in the most samples (total time), optionally
only frames whose text contains ``--filter`` (``app/`` for Tramontane's own code).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def _function(frame: str) -> str:
    # "name (path/file.py:123)" -> "name (path/file.py)": lines of one function add up.
    head, colon, line = frame.rpartition(":")
    return f"{head})" if colon and line.rstrip(")").isdigit() else frame


def _frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rpartition(" ")
    return [_function(frame) for frame in stack.split(";")], int(count)


def tally(path: Path, keep: str) -> tuple[Counter[str], Counter[str], int]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        samples += count
        own[frames[-1]] += count
        # A recursive frame counts once per sample.
        for frame in {frame for frame in frames if keep in frame}:
            total[frame] += count
    return own, total, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--filter", default="", help="keep only frames containing this text (total time)")
    args = parser.parse_args()
    own, total, samples = tally(args.file, args.filter)
    print(f"{samples} samples")
    print("\nself time:")
    for frame, count in own.most_common(args.top):
        print(f"{100 * count / samples:6.1f}%  {frame}")
    print("\ntotal time:")
    for frame, count in total.most_common(args.top):
        print(f"{100 * count / samples:6.1f}%  {frame}")


if __name__ == "__main__":
    main()
