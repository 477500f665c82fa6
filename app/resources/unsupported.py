"""Mistral resources Tramontane does not offer yet: a clear 501 instead of a 404."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from app.engine.errors import EngineError

blueprint = Blueprint("unsupported", __name__)

_METHODS = ["GET", "POST", "PUT", "DELETE"]
RESOURCES = {
    "event_triggers": "Event triggers",
    "code_sources": "Code sources",
    "dynamic_actions": "Dynamic actions",
}


class NotImplementedYet(EngineError):
    """Raised for a part of Mistral's API that Tramontane does not implement."""

    http_status = 501


@blueprint.route("/v2/<any(event_triggers, code_sources, dynamic_actions):resource>", methods=_METHODS)
@blueprint.route("/v2/<any(event_triggers, code_sources, dynamic_actions):resource>/<path:rest>",
                 methods=_METHODS)
def not_offered(resource: str, rest: str = "") -> ResponseReturnValue:
    raise NotImplementedYet(f"{RESOURCES[resource]} are not supported by this service.")


@blueprint.route("/v2/<any(workflows, workbooks, cron_triggers, environments):resource>/<identifier>/members",
                 methods=_METHODS)
@blueprint.route("/v2/<any(workflows, workbooks, cron_triggers, environments):resource>/<identifier>/members/"
                 "<member_id>", methods=_METHODS)
def members(resource: str, identifier: str, member_id: str = "") -> ResponseReturnValue:
    raise NotImplementedYet("Resource sharing (members) is not supported by this service.")
