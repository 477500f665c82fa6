"""Saved environments: list, create, delete (the same operations as ``/v2/environments``)."""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import select

from app.console.forms import FormErrors, json_value
from app.console.session import flash
from app.console.web import confirmation, form_text, redirect_to, render, route, url
from app.engine import environments as store
from app.engine.errors import EngineError
from app.extensions import session
from app.models import Environment
from app.resources.bodies import load_values
from app.resources.common import write
from app.schemas import EnvironmentSchema


def _page(errors: FormErrors | None = None, status: int = 200) -> Response:
    rows = session().scalars(select(Environment).order_by(Environment.name)).all()
    return render("console/environments.html", status=status, section="environments", title="Environments",
                  rows=rows, errors=errors or {}, form=request.form)


@route("/environments")
def environments() -> Response:
    return _page()


@route("/environments", methods=("POST",), endpoint="environment_create")
def create() -> Response:
    errors = FormErrors()
    name = form_text("name")
    if not name:
        errors["name"] = "A name is required."
    variables = json_value(errors, "variables", "Variables", dict, {})
    if errors:
        return _page(errors, 400)
    try:
        # The API's own schema: the same limits (a name of at most 255 characters) and words.
        body = load_values(EnvironmentSchema(), "env", {"name": name, "variables": variables,
                                                        "description": form_text("description") or None})
        write(lambda: store.save(session(), body["name"], body["variables"], body["description"], "private",
                                 update=False))
    except EngineError as exc:
        session().rollback()
        errors["name"] = str(exc)
        return _page(errors, exc.http_status)
    flash("ok", f"Environment {name!r} created.")
    return redirect_to("environments")


@route("/environments/<name>/delete", methods=("POST",), endpoint="environment_delete")
def delete(name: str) -> Response:
    asked = confirmation(f"Delete the environment {name!r}? Executions started with it keep their copy.",
                         url("environments"))
    if asked is not None:
        return asked
    write(lambda: session().delete(store.get(session(), name)))
    flash("ok", f"Environment {name!r} deleted.")
    return redirect_to("environments")
