"""The ``tramontane`` command line: run the whole stack, upgrade the database, run single processes.

``up`` stays running as the stack's supervisor, so this module imports only what supervising
needs; the commands that use the database import the application when they run.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from app import logs
from app.config import Settings
from app.embedded_redis import EmbeddedRedis, EmbeddedRedisError, port_is_free
from app.supervisor import StopSignals, Supervisor, echo_stderr

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CELERY_APP = "app.workers.celery_app:celery"
# gunicorn calls the factory in each of its workers: the web process's entry point.
WSGI_APP = "app.wsgi:create_application()"
DEFAULT_REDIS_PORT = 6390
DEFAULT_FLOWER_PORT = 5555
DEFAULT_WEB_CONCURRENCY = 2
DEFAULT_WEB_THREADS = 4
# Refuses to serve the network without authentication (see app.exposure).
GUNICORN_CONFIG = "python:app.gunicorn_config"
# Below the supervisor's 25 s grace period, so gunicorn finishes in-flight requests before SIGKILL.
GUNICORN_GRACEFUL_TIMEOUT = 20
FLOWER_HOST = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class StackOptions:
    host: str
    concurrency: int
    flower_port: int | None
    web_workers: int = DEFAULT_WEB_CONCURRENCY
    web_threads: int = DEFAULT_WEB_THREADS


class _Commands(click.Group):
    """With LOG_FORMAT=json a command's refusal ("cannot upgrade the database ...") is a JSON line
    like every other line of the process, so a log pipeline keeps it instead of dropping it."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as error:
            try:
                as_json = logs.log_format() == "json"
            except ValueError:
                as_json = False  # LOG_FORMAT itself is what is wrong: say so in plain text
            if not as_json:
                raise
            record = logging.makeLogRecord({"name": "app.cli", "levelno": logging.ERROR, "levelname": "ERROR",
                                            "msg": error.format_message()})
            click.echo(logs.JsonFormatter().format(record), err=True)
            raise click.exceptions.Exit(error.exit_code) from None


@click.group(cls=_Commands)
def main() -> None:
    """Tramontane, a workflow service compatible with OpenStack Mistral."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address the API binds to (0.0.0.0 to accept other machines).")
@click.option("--concurrency", type=click.IntRange(min=1), default=2, show_default=True,
              help="Actions the worker runs at once (threads; processes with WORKER_POOL=prefork).")
@click.option("--redis-port", type=click.IntRange(1, 65535), default=None,
              help=f"Port of the embedded Redis [default: {DEFAULT_REDIS_PORT}, or a free one if taken].")
@click.option("--flower-port", type=click.IntRange(1, 65535), default=DEFAULT_FLOWER_PORT, show_default=True)
@click.option("--no-flower", is_flag=True, help="Do not start Flower.")
def up(host: str, concurrency: int, redis_port: int | None, flower_port: int, no_flower: bool) -> None:
    """Run the API, a worker, the scheduler and Flower (and Redis unless REDIS_URL is set) until Ctrl-C."""
    settings = _settings()
    options = StackOptions(host, concurrency, None if no_flower else flower_port,
                           _web_setting("WEB_CONCURRENCY", DEFAULT_WEB_CONCURRENCY),
                           _web_setting("WEB_THREADS", DEFAULT_WEB_THREADS))
    _check_ports_free(settings, options)
    with StopSignals() as signals, ExitStack() as stack:
        settings = _with_redis(settings, redis_port, stack)
        _upgrade_in_child(settings)
        if signals.requested.is_set():
            return
        supervisor = Supervisor(up_environment(settings))
        # Registered after Redis, so unwinding stops the children before the broker they use.
        stack.callback(supervisor.stop, signals.forced)
        for name, argv in stack_commands(settings, options).items():
            supervisor.start(name, argv)
        exited = supervisor.watch(signals.requested, until=lambda: _api_ready(settings, options))
        if exited is None and not signals.requested.is_set():
            _print_banner(settings, options)
            exited = supervisor.watch(signals.requested)
        if exited is not None:
            echo_stderr(f"{exited.describe()}: stopping everything")
            sys.exit(1)
        echo_stderr("stopping (press Ctrl-C again to kill at once)")


@main.group()
def db() -> None:
    """Database schema management."""


@db.command()
def upgrade() -> None:
    """Create the database or upgrade it to the latest schema.

    As the Procfile's release process under honcho or foreman it then waits for SIGTERM, since
    those runners stop every process once one exits.
    """
    from app.dbtools import upgrade_database

    settings = _settings()
    try:
        upgrade_database(settings)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot upgrade the database {_masked(settings.database_url)}: "
                                   f"{_first_line(exc)}") from exc
    if _started_as_procfile_release():
        _hold_until_stopped()


@main.group()
def token() -> None:
    """API tokens (used when AUTH_ENABLED is on); only their hashes are stored."""


@token.command("create")
@click.argument("name")
@click.option("--expires", metavar="DURATION", help="Lifetime, such as 30d, 12h or 90m [default: never].")
def token_create(name: str, expires: str | None) -> None:
    """Create a token and print it: it is shown this once."""
    from app import auth
    from app.engine.transactions import with_retries

    try:
        lifetime = auth.parse_duration(expires) if expires else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--expires") from exc
    with _database_session() as session:
        secret = with_retries(session, lambda: auth.create_token(session, name, lifetime))
    click.echo(secret)


@token.command("list")
def token_list() -> None:
    """List tokens (names and dates, never the tokens)."""
    from app import auth

    with _database_session() as session:
        for row in auth.list_tokens(session):
            click.echo(f"{row.name}\tcreated {row.created_at:%Y-%m-%d %H:%M:%S}\t{_token_state(row)}")


def _token_state(row: Any) -> str:
    from app.models import utc_now

    if row.revoked_at:
        return f"revoked {row.revoked_at:%Y-%m-%d %H:%M:%S}"
    if row.expires_at is None:
        return "active, never expires"
    if row.expires_at <= utc_now():
        return f"expired {row.expires_at:%Y-%m-%d %H:%M:%S}"
    return f"active, expires {row.expires_at:%Y-%m-%d %H:%M:%S}"


@token.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    """Revoke a token at once."""
    from app import auth
    from app.engine.transactions import with_retries

    with _database_session() as session:
        with_retries(session, lambda: auth.revoke_token(session, name))
    click.echo(f"revoked {name}")


@contextmanager
def _database_session() -> Iterator[Session]:
    from app import extensions
    from app.engine.errors import EngineError
    from app.factory import create_app

    flask_app = create_app(_settings(), serve_api=False)
    with flask_app.app_context():
        try:
            yield extensions.session()
        except EngineError as exc:
            raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--older-than", "older_than", required=True, metavar="DURATION",
              help="Age of the last change, such as 30d, 12h or 90m.")
@click.option("--state", "states", multiple=True, type=click.Choice(["SUCCESS", "ERROR", "CANCELLED"]),
              help="Only executions that ended in this state (repeatable) [default: all finished ones].")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted, delete nothing.")
def purge(older_than: str, states: tuple[str, ...], dry_run: bool) -> None:
    """Delete finished executions (with their sub-workflows, tasks and actions) by age.

    Running executions, and finished ones with a sub-workflow still running, are never deleted.
    """
    from app import durations
    from app.engine import retention
    from app.engine.dispatch import CollectingDispatcher
    from app.engine.service import Engine

    try:
        age = durations.parse_duration(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from exc
    policy = retention.Retention(older_than=age, states=states or retention.FINISHED)
    with _database_session() as session:
        total = retention.count(session, policy)
        session.rollback()
        if dry_run:
            click.echo(f"{_executions(total)} would be deleted")
            return
        deleted = 0
        # Only finished trees are deleted, which tells no one anything: there is nothing to send.
        engine = Engine(session, CollectingDispatcher())
        with click.progressbar(length=total, label="deleting", file=sys.stderr) as bar:
            while batch := retention.purge_batch(engine, policy):
                deleted += len(batch)
                bar.update(len(batch))
    click.echo(f"{_executions(deleted)} deleted")


def _executions(count: int) -> str:
    return f"{count} execution" if count == 1 else f"{count} executions"


@main.command()
def scheduler() -> None:
    """Run the scheduler process (durable timers and cron triggers) until SIGTERM or Ctrl-C."""
    from app.scheduler import run_scheduler
    from app.workers.celery_app import celery
    from app.workers.dispatch import CeleryDispatcher

    settings = _settings()
    celery.use_settings(settings)
    run_scheduler(settings, CeleryDispatcher(celery))


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_REDIS_PORT, show_default=True)
def redis(port: int) -> None:
    """Run a Redis server on 127.0.0.1, with its files in the data folder, until Ctrl-C."""
    settings = _settings()
    server = EmbeddedRedis(settings.data_dir, port)
    with StopSignals() as signals:
        _start_redis(server)
        try:
            click.echo(f"Redis is ready: REDIS_URL={server.url}")
            _wait_for(signals)
        finally:
            server.stop()


def stack_commands(settings: Settings, options: StackOptions) -> dict[str, list[str]]:
    """The child processes of ``up``, by name, in start order."""
    python = sys.executable  # the virtualenv's bin directory need not be on PATH
    level = settings.log_level
    commands = {
        "api": [python, "-m", "gunicorn", "-c", GUNICORN_CONFIG, WSGI_APP, "--bind", f"{options.host}:{settings.port}",
                "--workers", str(options.web_workers), "--threads", str(options.web_threads),
                "--graceful-timeout", str(GUNICORN_GRACEFUL_TIMEOUT), "--log-level", level.lower()],
        # The scheduler runs as a thread of the worker's main process: one Python process less.
        "worker": [python, "-m", "celery", "-A", CELERY_APP, "worker", "-E", "--loglevel", level,
                   "--concurrency", str(options.concurrency), "--with-scheduler"],
    }
    if options.flower_port is not None:
        commands["flower"] = [python, "-m", "celery", "-A", CELERY_APP, "flower",
                              f"--address={FLOWER_HOST}", f"--port={options.flower_port}"]
    return commands


def up_environment(settings: Settings) -> dict[str, str]:
    """The environment of the processes `up` runs."""
    env = child_environment(settings)
    # The embedded setup is a developer's machine: workflows may call services on it (the seed's
    # localhost example). Deployments (the Procfile) keep the secure default.
    env.setdefault("HTTP_DENY_PRIVATE", "false")
    return env


def child_environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["REDIS_URL"] = settings.redis_url
    env["DATABASE_URL"] = settings.database_url
    env["PYTHONUNBUFFERED"] = "1"  # interleave the children's logs as they happen
    # glibc gives every thread that allocates an arena of its own, which keeps freed memory; the
    # threaded API and the worker's threads need no more than two.
    env.setdefault("MALLOC_ARENA_MAX", "2")
    return env


def _upgrade_in_child(settings: Settings) -> None:
    # In a child process: Alembic and the application would otherwise stay loaded in this
    # long-running supervisor for nothing.
    done = subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=child_environment(settings),
                          check=False)
    if done.returncode != 0:
        raise click.ClickException(f"the database upgrade failed (exit status {done.returncode})")


def _web_setting(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _settings() -> Settings:
    """The settings of the environment; a mistyped one is a one-line error naming it."""
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(f"invalid setting: {exc}") from exc


def _masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def _first_line(exc: BaseException) -> str:
    # SQLAlchemy appends the statement and a link on the following lines.
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_redis(settings: Settings) -> None:
    import redis as redis_client

    client = redis_client.Redis.from_url(settings.broker_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis_client.RedisError as exc:
        raise click.ClickException(
            f"Tramontane is not running: the Redis at REDIS_URL ({_masked(settings.redis_url)}) does not answer "
            f"({exc}). Start it, or unset REDIS_URL and `up` runs a Redis of its own.") from exc
    finally:
        client.close()


def _with_redis(settings: Settings, redis_port: int | None, stack: ExitStack) -> Settings:
    if settings.redis_url:
        _check_redis(settings)
        return settings
    server = EmbeddedRedis(settings.data_dir, _pick_redis_port(redis_port))
    _start_redis(server)
    stack.callback(server.stop)
    echo_stderr(f"started Redis at {server.url} (files in {server.directory})")
    return dataclasses.replace(settings, redis_url=server.url)


def _start_redis(server: EmbeddedRedis) -> None:
    """Start-up failures become a clean CLI error instead of a traceback."""
    try:
        server.start()
    except EmbeddedRedisError as error:
        raise click.ClickException(str(error)) from error


def _pick_redis_port(requested: int | None) -> int | None:
    if requested is not None:
        return requested
    return DEFAULT_REDIS_PORT if port_is_free(DEFAULT_REDIS_PORT) else None


def _check_ports_free(settings: Settings, options: StackOptions) -> None:
    # Failing here names the port; failing later shows as a child crash amid other logs.
    wanted = [("API", options.host, settings.port)]
    if options.flower_port is not None:
        wanted.append(("Flower", FLOWER_HOST, options.flower_port))
    for label, host, port in wanted:
        if not port_is_free(port, host):
            raise click.ClickException(f"the {label} port {port} is already in use")


def _api_ready(settings: Settings, options: StackOptions) -> bool:
    host = "127.0.0.1" if options.host in ("0.0.0.0", "") else options.host
    try:
        with socket.create_connection((host, settings.port), timeout=0.5):
            return True
    except OSError:
        return False


def _print_banner(settings: Settings, options: StackOptions) -> None:
    lines = ["", "Tramontane is running.", f"  API:     http://127.0.0.1:{settings.port}/v2"]
    if settings.public_url != f"http://127.0.0.1:{settings.port}":
        lines.append(f"  Public:  {settings.public_url}/v2")
    lines.append(f"  Console: {settings.public_url}/console/")
    if options.flower_port is not None:
        lines.append(f"  Flower:  http://{FLOWER_HOST}:{options.flower_port}/")
    lines += [f"  Redis:   {settings.redis_url}", "Press Ctrl-C to stop.", ""]
    click.echo("\n".join(lines))


def _started_as_procfile_release() -> bool:
    """Whether honcho or foreman runs this as the Procfile's ``release`` process.

    Those runners start every Procfile entry and stop them all as soon as one exits, so a
    release process that exits after the upgrade would take the whole local stack down. On
    Heroku (``DYNO`` is set) the release phase must exit.
    """
    name = os.environ.get("HONCHO_PROCESS_NAME") or os.environ.get("PS") or ""
    return name.split(".")[0] == "release" and "DYNO" not in os.environ


def _hold_until_stopped() -> None:
    with StopSignals() as signals:
        _wait_for(signals)


def _wait_for(signals: StopSignals) -> None:
    # Short timeouts keep the main thread returning to the interpreter, where signal handlers run.
    while not signals.requested.wait(1.0):
        pass


if __name__ == "__main__":
    main()
