from __future__ import annotations

import pytest

from app.exposure import unauthenticated_exposure


@pytest.mark.parametrize("bind", ["127.0.0.1:8989", "localhost:80", "[::1]:8989", "unix:/tmp/api.sock", "127.0.0.5:1"])
def test_a_local_bind_needs_no_authentication(bind: str) -> None:
    assert unauthenticated_exposure([bind], {}) == (None, None)


@pytest.mark.parametrize("bind", ["0.0.0.0:5000", "[::]:5000", "10.0.0.4:80", "api.example.com:80"])
def test_a_public_bind_without_authentication_is_refused_unless_allowed(bind: str) -> None:
    error, warning = unauthenticated_exposure(["127.0.0.1:1", bind], {})
    assert error is not None and warning is None
    assert bind in error and "AUTH_ENABLED=true" in error and "ALLOW_UNAUTHENTICATED=true" in error
    assert "\n" not in error

    error, warning = unauthenticated_exposure([bind], {"ALLOW_UNAUTHENTICATED": "true"})
    assert error is None and warning is not None and bind in warning
    assert unauthenticated_exposure([bind], {"AUTH_ENABLED": "true"}) == (None, None)
