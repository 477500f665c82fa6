"""Whether the API would serve the network without authentication, checked before gunicorn starts."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

TRUE = ("1", "true", "yes", "on")


def _is_local(bind: str) -> bool:
    if bind.startswith(("unix:", "fd://")):
        return True
    host = bind.rsplit(":", 1)[0] if ":" in bind.strip("[]") or bind.startswith("[") else bind
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def unauthenticated_exposure(binds: Iterable[str], env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``(error, warning)``: an error refuses to start, a warning is logged at each start."""
    if (env.get("AUTH_ENABLED") or "").strip().lower() in TRUE:
        return None, None
    public = [bind for bind in binds if not _is_local(bind)]
    if not public:
        return None, None
    where = ", ".join(public)
    if (env.get("ALLOW_UNAUTHENTICATED") or "").strip().lower() in TRUE:
        return None, (f"authentication is off and the API listens on {where}: anyone who can reach it "
                      f"can run workflows (ALLOW_UNAUTHENTICATED=true)")
    return (f"refusing to serve the API on {where} with authentication off: set AUTH_ENABLED=true "
            f"(and create a token with `tramontane token create`), bind 127.0.0.1, or set "
            f"ALLOW_UNAUTHENTICATED=true to accept the risk"), None
