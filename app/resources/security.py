"""Authentication of API requests, and the minimal Keystone v3 the ``mistral`` CLI logs in with.

With ``AUTH_ENABLED`` every route needs a live API token in ``X-Auth-Token`` or
``Authorization: Bearer``, except the version document, ``/health``, the API's description
(``/v2/openapi.json``, ``/v2/docs``) and the Keystone routes. A
third party without a token may still complete its own action: the completion routes also accept
that action's capability (``?token=`` or ``Mistral-Callback-Token``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app import auth
from app.engine.errors import EngineError
from app.extensions import session
from app.models import utc_now
from app.resources.common import json_body, settings

blueprint = Blueprint("keystone", __name__, url_prefix="/v3")
# The API's description is public even with authentication on: it holds no data.
OPEN_PATHS = ("/", "/health", "/v2/openapi.json", "/v2/docs", "/console")
# The console checks its own session cookie (app.console.web); /v2 never accepts that cookie.
OPEN_PREFIXES = ("/v3", "/v2/docs/", "/console/")
COMPLETION = re.compile(r"^/v2/action[-_]executions/([^/]+)$")
# Keystone tokens always carry an expiry; a token that never expires tells the last possible one.
NEVER = datetime(9999, 12, 31, 23, 59, 59)


class Unauthorized(EngineError):
    """Raised when a request carries no valid credentials."""

    http_status = 401


def presented_token() -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-Auth-Token", "").strip()


def require_authentication() -> None:
    """``before_request`` hook: let the request through or raise 401."""
    if not settings().auth_enabled or request.path in OPEN_PATHS or request.path.startswith(OPEN_PREFIXES):
        return
    if auth.find_valid(session(), presented_token()) is not None:
        return
    match = COMPLETION.match(request.path)
    if match and request.method in ("PUT", "POST"):
        offered = request.args.get("token") or request.headers.get("Mistral-Callback-Token", "")
        if auth.capability_matches(settings().secret_key, match.group(1), offered):
            return
    raise Unauthorized("Authentication required: send an API token in X-Auth-Token or "
                       "'Authorization: Bearer <token>'.")


@blueprint.get("")
@blueprint.get("/")
def version() -> ResponseReturnValue:
    return jsonify({"version": {
        "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{settings().public_url}/v3/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    }})


@blueprint.post("/auth/tokens")
def issue_token() -> ResponseReturnValue:
    """Log in with a user name and an API token as password (or the token itself): the API token
    comes back in ``X-Subject-Token``, with a catalog that points the client at this service."""
    identity = _mapping(_mapping(json_body().get("auth")).get("identity"))
    name, token = _credentials(identity)
    row = auth.find_valid(session(), token)
    if row is None or (name is not None and name != row.name):
        raise Unauthorized("The request you have made requires authentication.")
    response = jsonify({"token": _token_body(row.name, identity.get("methods") or ["password"], row.expires_at)})
    response.status_code = 201
    response.headers["X-Subject-Token"] = token
    return response


def _mapping(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EngineError("Malformed authentication request: objects expected in auth.identity.")
    return value


def _credentials(identity: dict[str, Any]) -> tuple[str | None, str]:
    methods = identity.get("methods") or []
    if isinstance(methods, list) and "password" in methods:
        user = _mapping(_mapping(identity.get("password")).get("user"))
        return str(user.get("name") or ""), str(user.get("password") or "")
    return None, str(_mapping(identity.get("token")).get("id") or "")


def _token_body(user: str, methods: list[str], expires_at: datetime | None) -> dict[str, Any]:
    now = utc_now()
    domain = {"id": "default", "name": "Default"}
    # The client re-authenticates when this passes: it is the API token's own expiry.
    expiry = expires_at or NEVER
    return {
        "methods": methods,
        "issued_at": now.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "expires_at": expiry.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "user": {"id": user, "name": user, "domain": domain},
        "project": {"id": "default", "name": "default", "domain": domain},
        "roles": [{"id": "member", "name": "member"}],
        "catalog": [{
            "type": "workflowv2", "name": "mistral", "id": "tramontane",
            "endpoints": [
                {"id": f"tramontane-{interface}", "interface": interface, "region": "RegionOne",
                 "region_id": "RegionOne", "url": f"{settings().public_url}/v2"}
                for interface in ("public", "internal", "admin")
            ],
        }],
    }
