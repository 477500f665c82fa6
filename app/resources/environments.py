"""``/v2/environments``: named sets of variables an execution can use as its ``env``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.engine import environments
from app.engine.errors import EngineError, NotFound
from app.extensions import session
from app.models import Environment
from app.resources.bodies import load_body, request_json
from app.resources.common import check_scope, write
from app.resources.listing import list_rows
from app.schemas import EnvironmentListQuerySchema, EnvironmentResponseSchema, EnvironmentSchema, SchemaCache

blueprint = Blueprint("environments", __name__, url_prefix="/v2/environments")


FIELDS = ["id", "name", "description", "variables", "scope", "project_id", "created_at", "updated_at"]


ENVIRONMENTS = SchemaCache(EnvironmentResponseSchema)
UNSET_IF_NOT_GIVEN = ("description", "variables", "updated_at")


def _save(update: bool) -> tuple[Environment, set[str]]:
    body = load_body(EnvironmentSchema(), "env", ["name", "description", "variables", "scope"])
    given = set(request_json())
    if body["scope"] not in ("private", "public"):
        raise EngineError(f"Invalid input for field/attribute scope. Value: '{body['scope']}'. "
                          "Value should be one of: private, public")
    check_scope(body["scope"])
    variables = body["variables"] if "variables" in given else None
    return environments.save(session(), body["name"], variables, body["description"], body["scope"],
                             update), given


@blueprint.post("")
def create() -> ResponseReturnValue:
    row, given = write(lambda: _save(update=False))
    # As in Mistral, a creation's answer shows only what its body set (and no updated_at).
    return jsonify(ENVIRONMENTS.dump(row, exclude=[key for key in UNSET_IF_NOT_GIVEN if key not in given])), 201


@blueprint.put("")
def update() -> ResponseReturnValue:
    row, _ = write(lambda: _save(update=True))
    return jsonify(ENVIRONMENTS.dump(row))


@blueprint.get("")
def list_environments() -> ResponseReturnValue:
    # Mistral looks an environment marker up by name (its next links still carry the last id).
    marker = request.args.get("marker")
    if marker and environments.find(session(), marker) is None:
        raise NotFound(f"Environment not found [name={marker}]")
    rows, fields, next_link = list_rows(session(), Environment, "environments", query_schema=EnvironmentListQuerySchema,
                                        allowed_fields=FIELDS,
                                        marker_by=Environment.name)
    body: dict[str, Any] = {"environments": ENVIRONMENTS.dump_many(rows, fields)}
    if next_link:
        body["next"] = next_link
    return jsonify(body)


@blueprint.get("/<name>")
def get(name: str) -> ResponseReturnValue:
    return jsonify(ENVIRONMENTS.dump(environments.get(session(), name)))


@blueprint.delete("/<name>")
def delete(name: str) -> ResponseReturnValue:
    write(lambda: session().delete(environments.get(session(), name)))
    return "", 204
