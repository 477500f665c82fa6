"""``GET /v2/docs``: a browsable page over the OpenAPI document, with Swagger UI's assets served
from the ``swagger-ui-bundle`` package (no CDN). Public like the document: it holds no data."""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_from_directory
from flask.typing import ResponseReturnValue
from swagger_ui_bundle import swagger_ui_path

blueprint = Blueprint("apidocs", __name__, url_prefix="/v2/docs")
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png", "favicon-16x16.png"})
# Swagger UI sets inline styles; every script and stylesheet is our own origin's.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                           "script-src 'self'; frame-ancestors 'none'")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tramontane API v2</title>
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png">
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="api-docs"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/swagger-ui-standalone-preset.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>
"""

# The Authorize button takes an API token (X-Auth-Token or Bearer) for "Try it out"; the browser
# keeps it for the session only.
INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#api-docs",
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout"
  });
});
"""


@blueprint.get("")
def page() -> ResponseReturnValue:
    return _secured(Response(PAGE, mimetype="text/html"))


@blueprint.get("/init.js")
def init_script() -> ResponseReturnValue:
    return _secured(Response(INIT, mimetype="text/javascript"))


@blueprint.get("/<name>")
def asset(name: str) -> ResponseReturnValue:
    if name not in ASSETS:
        abort(404)
    response = send_from_directory(swagger_ui_path, name, max_age=86400)
    return _secured(response)


def _secured(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
