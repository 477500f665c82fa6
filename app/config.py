"""Settings read from the environment, Heroku style.

This is the only module that reads environment variables; everything else receives a
:class:`Settings` instance.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from app import durations, logs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8989


def normalize_database_url(url: str) -> str:
    """Return a SQLAlchemy URL for ``url``; Heroku's ``postgres://`` becomes psycopg 3's dialect."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Settings:
    # The environment is read by from_env alone, once per process at its entry point.
    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = ""
    redis_url: str = ""
    port: int = DEFAULT_PORT
    public_url: str = ""
    log_level: str = "INFO"
    run_sync_timeout: float = 60.0
    # Mistral's [api] allow_action_execution_deletion: off by default, as there.
    allow_action_execution_deletion: bool = False
    worker_heartbeat_seconds: float = 5.0
    # Celery's execution pool: threads by default (one process; actions mostly wait on I/O and
    # the database), prefork to give each concurrent action a process of its own.
    worker_pool: str = "threads"
    # An action RUNNING but claimed by no worker for this long lost its message: it is sent again.
    lost_message_seconds: float = 60.0
    # An action completed through the API whose continuation has not run for this long: it is sent again.
    lost_continuation_seconds: float = 10.0
    # A scheduler that claimed a timer owns it this long; if it died meanwhile, another fires it.
    timer_claim_seconds: float = 60.0
    # An expression evaluating longer than this fails (a hostile or runaway one).
    expression_time_limit_seconds: float = 5.0
    http_allowed_hosts: tuple[str, ...] = ()
    http_denied_cidrs: tuple[str, ...] = ()
    http_connect_timeout: float = 10.0
    http_read_timeout: float = 60.0
    http_max_response_bytes: int = 5 * 1024 * 1024
    # Loopback and private ranges are denied unless the operator says the workers may reach them.
    http_deny_private: bool = True
    # API authentication (X-Auth-Token or Authorization: Bearer); off for the embedded setup.
    auth_enabled: bool = False
    # Signs the capability a third party uses to complete its own action without an API token.
    secret_key: str = ""
    # The expiration policy of finished executions (off unless an age or a count is set).
    expiration_older_than: timedelta | None = None
    expiration_max_finished: int | None = None
    expiration_keep_states: tuple[str, ...] = ()
    expiration_interval_seconds: float = 60.0
    expiration_batch: int = 200
    # "text" or "json" (one object per line), for every process.
    log_format: str = "text"
    # Certificate checking for rediss:// (Heroku Redis presents a self-signed certificate: none).
    redis_ssl_cert_reqs: str = "required"
    # What each process logs at start about a risky deployment (see deployment_warnings).
    startup_warnings: tuple[str, ...] = ()

    @property
    def broker_url(self) -> str:
        """The Redis URL every client uses (Celery, Flower and the service's own)."""
        url = self.redis_url or "redis://127.0.0.1:6379/0"
        # One place decides certificate checking for rediss://: redis-py and kombu both read it
        # from the URL, and a value already in the URL wins.
        if url.startswith("rediss://") and "ssl_cert_reqs=" not in urlsplit(url).query:
            url += ("&" if urlsplit(url).query else "?") + f"ssl_cert_reqs={self.redis_ssl_cert_reqs}"
        return url

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("TRAMONTANE_DATA_DIR") or PROJECT_ROOT / "data")
        port = int(env.get("PORT") or DEFAULT_PORT)
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'tramontane.db'}"
        public_url = (env.get("PUBLIC_URL") or f"http://127.0.0.1:{port}").rstrip("/")
        if public_url.endswith("/v2"):
            public_url = public_url[: -len("/v2")]
        return cls(
            data_dir=data_dir,
            database_url=normalize_database_url(database_url),
            redis_url=env.get("REDIS_URL") or "",
            port=port,
            public_url=public_url,
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
            log_format=logs.log_format(env),
            expiration_older_than=_duration(env, "EXECUTION_EXPIRATION_OLDER_THAN"),
            expiration_max_finished=_positive(env, "EXECUTION_EXPIRATION_MAX_FINISHED"),
            expiration_keep_states=_states(env, "EXECUTION_EXPIRATION_KEEP_STATES"),
            expiration_interval_seconds=float(env.get("EXECUTION_EXPIRATION_INTERVAL_SECONDS") or 60.0),
            expiration_batch=_positive(env, "EXECUTION_EXPIRATION_BATCH") or 200,
            run_sync_timeout=_run_sync_timeout(env),
            allow_action_execution_deletion=(env.get("ALLOW_ACTION_EXECUTION_DELETION") or "").lower()
            in ("1", "true", "yes", "on"),
            worker_heartbeat_seconds=float(env.get("WORKER_HEARTBEAT_SECONDS") or 5.0),
            worker_pool=_worker_pool(env.get("WORKER_POOL") or "threads"),
            lost_message_seconds=float(env.get("LOST_MESSAGE_SECONDS") or 60.0),
            lost_continuation_seconds=float(env.get("LOST_CONTINUATION_SECONDS") or 10.0),
            timer_claim_seconds=float(env.get("TIMER_CLAIM_SECONDS") or 60.0),
            expression_time_limit_seconds=float(env.get("EXPRESSION_TIME_LIMIT_SECONDS") or 5.0),
            http_allowed_hosts=tuple(
                h.strip() for h in (env.get("HTTP_ALLOWED_HOSTS") or "").split(",") if h.strip()),
            http_denied_cidrs=tuple(
                c.strip() for c in (env.get("HTTP_DENIED_CIDRS") or "").split(",") if c.strip()),
            http_connect_timeout=float(env.get("HTTP_CONNECT_TIMEOUT") or 10.0),
            http_read_timeout=float(env.get("HTTP_READ_TIMEOUT") or 60.0),
            http_max_response_bytes=int(env.get("HTTP_MAX_RESPONSE_BYTES") or 5 * 1024 * 1024),
            http_deny_private=_flag(env, "HTTP_DENY_PRIVATE", default=True),
            auth_enabled=(env.get("AUTH_ENABLED") or "").lower() in ("1", "true", "yes", "on"),
            secret_key=env.get("SECRET_KEY") or _stored_secret(data_dir),
            redis_ssl_cert_reqs=_choice(env, "REDIS_SSL_CERT_REQS", ("required", "optional", "none"), "required"),
            startup_warnings=deployment_warnings(env),
        )


# Heroku's router answers 503 to a request that has not begun to answer after 30 s.
HEROKU_SYNC_WAIT_SECONDS = 25.0


def _on_heroku(env: dict[str, str]) -> bool:
    return bool(env.get("DYNO"))


def _run_sync_timeout(env: dict[str, str]) -> float:
    wanted = float(env.get("RUN_SYNC_TIMEOUT") or 60.0)
    return min(wanted, HEROKU_SYNC_WAIT_SECONDS) if _on_heroku(env) else wanted


def deployment_warnings(env: dict[str, str]) -> tuple[str, ...]:
    """Settings that work on one machine but break a Heroku app."""
    if not _on_heroku(env):
        return ()
    warnings = []
    if not env.get("SECRET_KEY"):
        warnings.append("SECRET_KEY is unset: each dyno makes a secret of its own, so a callback capability "
                        "signed by one dyno is refused by the others; set one for the app "
                        "(heroku config:set SECRET_KEY=...)")
    if not env.get("PUBLIC_URL"):
        warnings.append("PUBLIC_URL is unset: the callback URLs third parties receive point at "
                        "http://127.0.0.1; set it to the app's https address")
    wanted = env.get("RUN_SYNC_TIMEOUT")
    if wanted and float(wanted) > HEROKU_SYNC_WAIT_SECONDS:
        warnings.append(f"RUN_SYNC_TIMEOUT={wanted} is longer than Heroku's router waits for an answer (30 s): "
                        f"a synchronous run-action waits {HEROKU_SYNC_WAIT_SECONDS:g} s at most")
    return tuple(warnings)


WORKER_POOLS = ("threads", "prefork", "solo")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _duration(env: dict[str, str], name: str) -> timedelta | None:
    value = (env.get(name) or "").strip()
    if not value:
        return None
    try:
        return durations.parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


def _positive(env: dict[str, str], name: str) -> int | None:
    value = (env.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


FINISHED_STATES = ("SUCCESS", "ERROR", "CANCELLED")


def _states(env: dict[str, str], name: str) -> tuple[str, ...]:
    states = tuple(s.strip().upper() for s in (env.get(name) or "").split(",") if s.strip())
    unknown = [s for s in states if s not in FINISHED_STATES]
    if unknown:
        raise ValueError(f"{name} lists {unknown}: only {', '.join(FINISHED_STATES)} are finished states")
    return states


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or "").strip().lower() or default
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {env.get(name)!r}")
    return value


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or not value.strip():
        return default
    text = value.strip().lower()
    if text not in _TRUE + _FALSE:
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return text in _TRUE


def _worker_pool(name: str) -> str:
    if name not in WORKER_POOLS:
        raise ValueError(f"WORKER_POOL must be one of {', '.join(WORKER_POOLS)}, not {name!r}")
    return name


def _stored_secret(data_dir: Path) -> str:
    """A secret kept in the data folder, for machines where SECRET_KEY is not set.

    Every process of one machine reads the same file; deployments spanning machines must set
    SECRET_KEY instead.
    """
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    except OSError:
        return ""
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
