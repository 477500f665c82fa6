"""Which process this is, as per-thread caches need to know: a number that changes in a forked child.

A pid alone is not enough: a process forked long after its grandparent died may get the
grandparent's pid, and with it the grandparent's caches, inherited through its parent.
"""

from __future__ import annotations

import os

_generation = 0


def _forked() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_forked)


def generation() -> int:
    """Changes in a forked child (and only there): what was cached under another one is the parent's."""
    return _generation
