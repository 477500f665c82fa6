"""Saved environments (``/v2/environments``) and the ``env`` of an execution."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine import expressions
from app.engine.errors import Conflict, EngineError, NotFound
from app.models import Environment, utc_now

ALLOWED_KEYS = ("name", "description", "variables", "scope")


def check_keys(body: dict[str, Any]) -> None:
    unknown = [key for key in body if key not in ALLOWED_KEYS]
    if unknown:
        raise EngineError(
            f"Please, check your environment definition. Only: {list(ALLOWED_KEYS)} are allowed as "
            f"definition keys; unknown: {unknown}"
        )


def find(session: Session, name: str) -> Environment | None:
    return session.scalars(select(Environment).where(Environment.name == name)).first()


def get(session: Session, name: str) -> Environment:
    row = find(session, name) or session.get(Environment, name)
    if row is None:
        raise NotFound(f"Environment not found [name={name}]")
    return row


def save(session: Session, name: str, variables: dict[str, Any], description: str | None, scope: str,
         update: bool) -> Environment:
    existing = find(session, name)
    if existing is not None and not update:
        raise Conflict(f"Duplicate entry for Environment: {name}")
    if existing is None and update:
        raise NotFound(f"Environment not found [name={name}]")
    row = existing or Environment(name=name)
    row.variables = variables
    if description is not None or existing is None:
        row.description = description or ""
    row.scope = scope
    if existing is not None:
        row.updated_at = utc_now()
    session.add(row)
    session.flush()
    return row


def resolve(session: Session, env: Any, evaluate: bool = True) -> dict[str, Any]:
    """The ``env`` of a new execution: a dict, or the name of a saved environment."""
    if env in (None, "", {}):
        return {}
    if isinstance(env, str):
        env = dict(get(session, env).variables)
    if not isinstance(env, dict):
        raise EngineError(f"params.env must be a dict or the name of an environment, not {env!r}")
    if not evaluate:
        return env
    result = expressions.evaluate_recursively(env, {"__env": env}, _EnvOnlyView(env))
    return result if isinstance(result, dict) else env


class _EnvOnlyView:
    """While the env itself is evaluated, ``env()`` is that env and nothing else exists yet."""

    def __init__(self, env: dict[str, Any]) -> None:
        self._env = env

    def env(self) -> dict[str, Any]:
        return self._env

    def task(self, name: str | None = None) -> None:
        return None

    def tasks(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return []

    def execution(self) -> dict[str, Any]:
        return {}

    def global_var(self, name: str) -> Any:
        return None
