"""The browsable API page: served from the package's assets, public, and no CDN."""

from __future__ import annotations

import re
from dataclasses import replace

from flask.testing import FlaskClient

from app.config import Settings
from app.engine.dispatch import CollectingDispatcher
from app.factory import create_app


def test_the_docs_page_loads_only_local_assets(client: FlaskClient) -> None:
    page = client.get("/v2/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "//" not in re.sub(r"<!DOCTYPE[^>]*>", "", html), "an absolute URL would reach out of the service"
    for reference in re.findall(r'(?:src|href)="([^"]+)"', html):
        asset = client.get("/v2/" + reference)
        assert asset.status_code == 200, reference
        assert len(asset.get_data()) > 100, reference
    script = client.get("/v2/docs/init.js").get_data(as_text=True)
    assert 'url: "openapi.json"' in script
    assert client.get("/v2/docs/swagger-ui-bundle.js").mimetype == "text/javascript"
    assert client.get("/v2/docs/../config.py").status_code == 404
    assert client.get("/v2/docs/index.html").status_code == 404


def test_the_root_links_the_docs(client: FlaskClient, settings: Settings) -> None:
    assert client.get("/").get_json()["docs"] == f"{settings.public_url}/v2/docs"


def test_the_docs_and_the_document_are_public_with_authentication_on(settings: Settings) -> None:
    secured = create_app(replace(settings, auth_enabled=True), dispatcher=CollectingDispatcher())
    with secured.test_client() as client:
        assert client.get("/v2/workflows").status_code == 401
        assert client.get("/v2/docs").status_code == 200
        assert client.get("/v2/docs/swagger-ui.css").status_code == 200
        document = client.get("/v2/openapi.json")
        assert document.status_code == 200
        # "Try it out" asks for a token through these.
        assert set(document.get_json()["components"]["securitySchemes"]) == {"token", "bearer"}
