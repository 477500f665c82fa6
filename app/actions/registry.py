"""Finds action classes by name: the built-ins, then those registered through entry points.

Third-party packages register actions under the ``tramontane.actions`` entry-point group (or,
for actions written for Mistral, ``mistral.actions``)
(``name = package.module:ActionClass``).

A class is imported when it is first looked up, not when the registry is: a process that never
runs or validates ``std.http`` or ``std.email`` never loads requests, urllib3 or the email package
(about 6.5 MiB per API process at rest).
"""

from __future__ import annotations

import importlib
from functools import cache, lru_cache
from importlib.metadata import EntryPoint, entry_points

from app.actions import mistral_compat
from app.actions.base import Action

ENTRY_POINT_GROUP = "tramontane.actions"

# Name -> "module:Class".
BUILTIN: dict[str, str] = {
    "std.noop": "app.actions.std:NoopAction",
    "std.async_noop": "app.actions.std:AsyncNoopAction",
    "std.echo": "app.actions.std:EchoAction",
    "std.fail": "app.actions.std:FailAction",
    "std.sleep": "app.actions.std:SleepAction",
    "std.test_dict": "app.actions.std:TestDictAction",
    "std.http": "app.actions.http:HTTPAction",
    "std.mistral_http": "app.actions.http:MistralHTTPAction",
    "std.email": "app.actions.email:SendEmailAction",
    "std.ssh": "app.actions.ssh:SSHAction",
    "std.js": "app.actions.javascript:JavaScriptAction",
    "std.javascript": "app.actions.javascript:JavaScriptAction",
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


# Added at run time; they take precedence over the built-ins and the plugins.
_ADDED: dict[str, type[Action]] = {}


@cache
def _load(path: str) -> type[Action]:
    module, _, attribute = path.partition(":")
    action_class: type[Action] = getattr(importlib.import_module(module), attribute)
    return action_class


@lru_cache(maxsize=1)
def _plugins() -> dict[str, EntryPoint]:
    """The entry points of both groups, by action name (the first one of a name wins)."""
    found: dict[str, EntryPoint] = {}
    for group in (ENTRY_POINT_GROUP, mistral_compat.ENTRY_POINT_GROUP):
        for entry in entry_points(group=group):
            found.setdefault(entry.name, entry)
    return found


def _resolve(name: str) -> type[Action] | None:
    if name in _ADDED:
        return _ADDED[name]
    if name in BUILTIN:
        return _load(BUILTIN[name])
    return _load_plugin(name) if name in _plugins() else None


@cache
def _load_plugin(name: str) -> type[Action]:
    action_class: type[Action] = _plugins()[name].load()
    return action_class


def all_actions() -> dict[str, type[Action]]:
    """Every action by name, all of them imported (the action listing of the API)."""
    names = [*BUILTIN, *(name for name in _plugins() if name not in BUILTIN), *_ADDED]
    actions: dict[str, type[Action]] = {}
    for name in dict.fromkeys(names):
        action_class = _resolve(name)
        if action_class is not None:
            actions[name] = action_class
    return actions


def find(name: str) -> type[Action] | None:
    return _resolve(name) or _resolve(ALIASES.get(name, ""))


def register(name: str, action_class: type[Action]) -> None:
    """Add an action at run time (tests, embedding applications)."""
    _ADDED[name] = action_class


def class_path(name: str, action_class: type[Action]) -> str:
    """The dotted class name messages give for action ``name``: Mistral's for a built-in."""
    builtin = _MISTRAL_CLASSES.get(ALIASES.get(name, name))
    if builtin is not None and _load(BUILTIN[ALIASES.get(name, name)]) is action_class:
        return f"mistral.actions.std_actions.{builtin}"
    return f"{action_class.__module__}.{action_class.__qualname__}"
