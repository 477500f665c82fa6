"""EmbeddedRedis runs a real redis-server on 127.0.0.1 and leaves nothing behind."""

from __future__ import annotations

import socket
from pathlib import Path

import psutil
import pytest
import redis

from app.embedded_redis import EmbeddedRedis, EmbeddedRedisError, find_free_port, port_is_free


def is_gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def client(server: EmbeddedRedis) -> redis.Redis:
    return redis.Redis.from_url(server.url, socket_timeout=5)


def test_find_free_port_returns_a_bindable_port() -> None:
    port = find_free_port()
    assert 0 < port < 65536
    assert port_is_free(port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_starts_on_a_free_port_answers_ping_and_stops_completely(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path, persistent=False)
    url = server.start()
    pid = server.pid
    assert pid is not None
    try:
        assert url == f"redis://127.0.0.1:{server.port}/0"
        connection = client(server)
        assert connection.ping()
        assert connection.config_get("bind")["bind"] == "127.0.0.1"
        assert connection.config_get("dir")["dir"] == str(tmp_path / "redis")
        assert connection.config_get("appendonly")["appendonly"] == "no"
        connection.close()
    finally:
        server.stop()
    assert is_gone(pid)
    assert not server.is_running()
    assert not server.pidfile.exists()
    server.stop()  # stopping twice is harmless


def test_persistent_server_keeps_data_across_restarts(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as first:
        connection = client(first)
        connection.rpush("queue", "job-1")
        connection.close()
    assert (tmp_path / "redis" / "appendonly.aof").exists()
    with EmbeddedRedis(tmp_path) as second:
        connection = client(second)
        assert connection.lrange("queue", 0, -1) == [b"job-1"]
        connection.close()


def test_uses_the_requested_port(tmp_path: Path) -> None:
    port = find_free_port()
    with EmbeddedRedis(tmp_path, port, persistent=False) as server:
        assert server.url == f"redis://127.0.0.1:{port}/0"
        assert client(server).ping()


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(EmbeddedRedisError, match=f"port {port} is already in use"):
            EmbeddedRedis(tmp_path, port).start()


def test_refuses_a_second_server_on_the_same_directory(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, persistent=False):
        with pytest.raises(EmbeddedRedisError, match="already uses"):
            EmbeddedRedis(tmp_path, persistent=False).start()


class BrokenRedis(EmbeddedRedis):
    def command(self, port: int) -> list[str]:
        return [*super().command(port), "--no-such-directive", "yes"]


def test_a_failed_start_reports_the_log_tail_and_leaves_no_process(tmp_path: Path) -> None:
    server = BrokenRedis(tmp_path, persistent=False, startup_timeout=5)
    with pytest.raises(EmbeddedRedisError, match="(?s)exited with status.*no-such-directive"):
        server.start()
    assert not server.is_running()
    assert server.pid is None
