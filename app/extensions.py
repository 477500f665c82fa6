"""Flask extensions, created unbound and attached to an app by ``create_app``."""

from typing import cast

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Session


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def session() -> Session:
    """The session of the current app context (the scoped session's current one)."""
    return cast(Session, db.session())
