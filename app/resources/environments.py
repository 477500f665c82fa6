"""``/v2/environments``: named sets of variables an execution can use as its ``env``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from app.engine import environments
from app.engine.errors import EngineError
from app.extensions import session
from app.models import Environment
from app.resources.common import json_body, json_text, time_text, write
from app.resources.listing import list_rows, select_fields
from app.schemas import EnvironmentSchema

blueprint = Blueprint("environments", __name__, url_prefix="/v2/environments")


def environment_dict(row: Environment) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "description": row.description,
        "variables": json_text(row.variables), "scope": row.scope, "project_id": row.project_id,
        "created_at": time_text(row.created_at), "updated_at": time_text(row.updated_at),
    }


def _save(update: bool) -> Environment:
    raw = json_body()
    environments.check_keys(raw)
    body = EnvironmentSchema().load(raw)
    if body["scope"] not in ("private", "public"):
        raise EngineError("Scope must be one of the following: private, public")
    return environments.save(session(), body["name"], body["variables"], body["description"], body["scope"],
                             update)


@blueprint.post("")
def create() -> ResponseReturnValue:
    row = write(lambda: _save(update=False))
    return jsonify(environment_dict(row)), 201


@blueprint.put("")
def update() -> ResponseReturnValue:
    row = write(lambda: _save(update=True))
    return jsonify(environment_dict(row))


@blueprint.get("")
def list_environments() -> ResponseReturnValue:
    rows, fields, next_link = list_rows(session(), Environment, "environments")
    body: dict[str, Any] = {"environments": [select_fields(environment_dict(row), fields) for row in rows]}
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.get("/<name>")
def get(name: str) -> ResponseReturnValue:
    return jsonify(environment_dict(environments.get(session(), name)))


@blueprint.delete("/<name>")
def delete(name: str) -> ResponseReturnValue:
    write(lambda: session().delete(environments.get(session(), name)))
    return "", 204
