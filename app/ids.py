"""Random (version 4) UUIDs, from random bytes read a batch at a time.

``uuid.uuid4()`` reads 16 bytes from the system at each call, and each such read lets another
thread take the interpreter lock: a worker's step makes an id for every task and action it creates,
and the API one for every request. Here each thread reads 1,024 bytes at once (the same source) and
uses them for 64 ids. A forked process never uses its parent's unread bytes, which would give both
the same ids.
"""

from __future__ import annotations

import os
import threading
import uuid

from app import forks

_BATCH = 16 * 64


class _Unused(threading.local):
    def __init__(self) -> None:
        self.process = -1
        self.data = b""
        self.offset = 0


_UNUSED = _Unused()


def random_uuid() -> uuid.UUID:
    unused = _UNUSED
    if unused.process != forks.generation() or unused.offset >= len(unused.data):
        unused.process, unused.data, unused.offset = forks.generation(), os.urandom(_BATCH), 0
    chunk = unused.data[unused.offset:unused.offset + 16]
    unused.offset += 16
    return uuid.UUID(bytes=chunk, version=4)
