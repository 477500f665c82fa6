"""API tokens and action capabilities.

API tokens are random strings shown once at creation; the database keeps their SHA-256 only.
A capability lets a third party complete one action execution without an API token: it is an
HMAC of the action execution id, checked in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import durations
from app.engine.errors import Conflict, NotFound
from app.models import ApiToken, utc_now

TOKEN_PREFIX = "trm_"  # noqa: S105 - a visible prefix, not a secret


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, lifetime: timedelta | None = None) -> str:
    """Store a new token named ``name`` and return it (the only time it is visible).

    With ``lifetime`` the token stops working that long after now; without, it lasts until revoked.
    """
    if session.scalars(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise Conflict(f"A token named {name!r} already exists")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = utc_now() + lifetime if lifetime is not None else None
    session.add(ApiToken(name=name, token_hash=hash_token(token), expires_at=expires_at))
    return token


def parse_duration(text: str) -> timedelta:
    """A token's lifetime, as ``tramontane token create --expires`` takes it."""
    return durations.parse_duration(text)


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at)))


def revoke_token(session: Session, name: str) -> None:
    row = session.scalars(select(ApiToken).where(ApiToken.name == name)).first()
    if row is None:
        raise NotFound(f"No token named {name!r}")
    row.revoked_at = row.revoked_at or utc_now()


def find_valid(session: Session, token: str) -> ApiToken | None:
    """The live token matching ``token``; looked up by hash, so timing reveals nothing useful."""
    if not token:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utc_now():
        return None
    return row


def capability(secret: str, action_execution_id: str) -> str:
    digest = hmac.new(secret.encode(), f"action:{action_execution_id}".encode(), hashlib.sha256)
    return digest.hexdigest()


def capability_matches(secret: str, action_execution_id: str, presented: str) -> bool:
    return bool(secret) and hmac.compare_digest(capability(secret, action_execution_id), presented or "")
