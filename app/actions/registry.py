"""Finds action classes by name: the built-ins, then those registered through entry points.

Third-party packages register actions under the ``tramontane.actions`` entry-point group (or,
for actions written for Mistral, ``mistral.actions``)
(``name = package.module:ActionClass``).
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from app.actions import email, http, javascript, mistral_compat, ssh, std
from app.actions.base import Action

ENTRY_POINT_GROUP = "tramontane.actions"

BUILTIN: dict[str, type[Action]] = {
    "std.noop": std.NoopAction,
    "std.async_noop": std.AsyncNoopAction,
    "std.echo": std.EchoAction,
    "std.fail": std.FailAction,
    "std.sleep": std.SleepAction,
    "std.test_dict": std.TestDictAction,
    "std.http": http.HTTPAction,
    "std.mistral_http": http.MistralHTTPAction,
    "std.email": email.SendEmailAction,
    "std.ssh": ssh.SSHAction,
    "std.js": javascript.JavaScriptAction,
    "std.javascript": javascript.JavaScriptAction,
}

# The classes Mistral implements the built-ins with: its error messages name them, and clients
# written against Mistral match on those messages.
_MISTRAL_CLASSES = {
    "std.noop": "NoOpAction", "std.async_noop": "AsyncNoOpAction", "std.echo": "EchoAction",
    "std.fail": "FailAction", "std.sleep": "SleepAction", "std.test_dict": "TestDictAction",
    "std.http": "HTTPAction", "std.mistral_http": "MistralHTTPAction", "std.email": "SendEmailAction",
    "std.ssh": "SSHAction", "std.js": "JavaScriptAction", "std.javascript": "JavaScriptAction",
}

# Names the seed document and older Mistral releases use without the ``std.`` prefix.
ALIASES = {"async_noop": "std.async_noop", "mistral_http": "std.mistral_http"}


@lru_cache(maxsize=1)
def all_actions() -> dict[str, type[Action]]:
    actions = dict(BUILTIN)
    for group in (ENTRY_POINT_GROUP, mistral_compat.ENTRY_POINT_GROUP):
        for entry in entry_points(group=group):
            actions.setdefault(entry.name, entry.load())
    return actions


def find(name: str) -> type[Action] | None:
    actions = all_actions()
    return actions.get(name) or actions.get(ALIASES.get(name, ""))


def register(name: str, action_class: type[Action]) -> None:
    """Add an action at run time (tests, embedding applications)."""
    all_actions()[name] = action_class


def class_path(name: str, action_class: type[Action]) -> str:
    """The dotted class name messages give for action ``name``: Mistral's for a built-in."""
    builtin = _MISTRAL_CLASSES.get(ALIASES.get(name, name))
    if builtin is not None and BUILTIN.get(ALIASES.get(name, name)) is action_class:
        return f"mistral.actions.std_actions.{builtin}"
    return f"{action_class.__module__}.{action_class.__qualname__}"
