"""The one rule that hides credentials wherever the service shows a request it sent or will send.

Flower's view of webhook tasks, the request recorded on an async action execution, and the console all
show headers and URLs through these functions, so a value hidden in one place is hidden in all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Header names whose values are credentials, whatever their spelling.
SECRET_HEADERS = frozenset(("authorization", "proxy-authorization", "cookie", "set-cookie", "x-auth-token",
                            "mistral-callback-token",
                            # std.http's ``auth`` input: "user:password" or [user, password].
                            "auth"))
# A header or query parameter whose name holds one of these words carries a credential too (the
# callback capability travels as ``?token=`` in the completion URL).
SECRET_WORDS = ("token", "secret", "password", "passwd", "api-key", "api_key", "apikey", "signature",
                "credential", "session")


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_HEADERS or any(word in lowered for word in SECRET_WORDS)


def masked_url(url: str) -> str:
    """``url`` with the password of its authority and the values of secret query parameters masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(name) for name, _ in pairs):
            query = urlencode([(name, MASK if is_secret_name(name) else value) for name, value in pairs],
                              safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# A URL inside free text (an error message that quotes the request it failed on).
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def masked_text(text: str) -> str:
    """``text`` with every URL in it masked as ``masked_url`` does."""
    return _URL_IN_TEXT.sub(lambda found: masked_url(found.group(0)), text) if "://" in text else text


def masked_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """Secret headers masked; a URL in any other header (``Mistral-Callback-Full-URL``) loses its
    secret query parameters."""
    shown: dict[str, Any] = {}
    for name, value in headers.items():
        if is_secret_name(str(name)):
            shown[name] = MASK
        elif isinstance(value, str) and "://" in value:
            shown[name] = masked_url(value)
        else:
            shown[name] = value
    return shown
