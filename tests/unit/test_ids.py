"""Random UUIDs from random bytes read a batch at a time: valid, distinct, never shared with a fork."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from app import ids


def test_the_ids_are_version_4_uuids_and_all_distinct() -> None:
    made = [ids.random_uuid() for _ in range(5_000)]

    assert all(value.version == 4 and value.variant == uuid.RFC_4122 for value in made)
    assert len(set(made)) == len(made)


def test_the_system_is_asked_once_for_64_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = []
    real = os.urandom

    def counted(size: int) -> bytes:
        reads.append(size)
        return real(size)

    monkeypatch.setattr(os, "urandom", counted)
    made: list[uuid.UUID] = []
    # A thread of its own: its batch starts empty.
    thread = threading.Thread(target=lambda: made.extend(ids.random_uuid() for _ in range(128)))
    thread.start()
    thread.join(10)

    assert reads == [1024, 1024]
    assert len(set(made)) == 128


def test_threads_never_make_the_same_id() -> None:
    made: list[list[uuid.UUID]] = [[] for _ in range(4)]
    threads = [threading.Thread(target=lambda out=out: out.extend(ids.random_uuid() for _ in range(500)))
               for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    every = [value for out in made for value in out]
    assert len(set(every)) == 2_000


def test_a_forked_child_does_not_use_its_parents_unread_bytes() -> None:
    ids.random_uuid()  # this thread now holds unread bytes
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        os.write(write_end, b"".join(ids.random_uuid().bytes for _ in range(5)))
        os._exit(0)
    os.close(write_end)
    received = b""
    while len(received) < 80:
        chunk = os.read(read_end, 80 - len(received))
        if not chunk:
            break
        received += chunk
    os.close(read_end)
    os.waitpid(child, 0)
    in_parent = {ids.random_uuid() for _ in range(5)}
    in_child = {uuid.UUID(bytes=received[index:index + 16]) for index in range(0, 80, 16)}

    assert len(in_child) == 5
    assert not in_parent & in_child
