"""Saved environments (``/v2/environments``) and the ``env`` of an execution."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine import expressions
from app.engine.errors import Conflict, EngineError, NotFound
from app.models import Environment, utc_now


def find(session: Session, name: str) -> Environment | None:
    return session.scalars(select(Environment).where(Environment.name == name)).first()


def get(session: Session, name: str) -> Environment:
    row = find(session, name)
    if row is None:
        raise NotFound(f"Environment not found [name={name}]")
    return row


def save(session: Session, name: str, variables: dict[str, Any] | None, description: str | None, scope: str,
         update: bool) -> Environment:
    """``variables`` None: none given (a new environment then has none; an update keeps them)."""
    existing = find(session, name)
    if existing is not None and not update:
        raise Conflict(f"Duplicate entry for Environment ['name', 'project_id']: {name}, None")
    if existing is None and update:
        raise NotFound(f"Environment not found [name={name}]")
    row = existing or Environment(name=name, variables=None, description="")
    values: dict[str, Any] = {"scope": scope}
    if variables is not None or existing is None:
        values["variables"] = variables
    if description is not None:
        values["description"] = description
    changed = [key for key, value in values.items() if getattr(row, key) != value]
    for key in changed:
        setattr(row, key, values[key])
    # An update that changes nothing keeps updated_at, as in Mistral.
    if existing is not None and changed:
        row.updated_at = utc_now()
    session.add(row)
    session.flush()
    return row


def resolve(session: Session, env: Any, evaluate: bool = True) -> dict[str, Any]:
    """The ``env`` of a new execution: a dict, or the name of a saved environment."""
    if env in (None, "", {}):
        return {}
    if isinstance(env, str):
        stored = find(session, env)
        if stored is None:
            raise EngineError(f"Environment is not found: {env}")
        env = dict(stored.variables or {})
    if not isinstance(env, dict):
        raise EngineError(f"Unexpected value type for environment [env={env}, type={type(env)}]")
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
