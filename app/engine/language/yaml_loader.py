"""A safe YAML loader with Mistral's quirks: anchors, aliases and ``@`` are plain text.

Treating ``&`` and ``*`` as text means no alias can expand, so alias bombs are impossible.
"""

from __future__ import annotations

from typing import Any

import yaml

from app.engine.errors import DSLError


class _PlainAnchorLoader(yaml.SafeLoader):
    def fetch_alias(self) -> None:
        self.fetch_plain()

    def fetch_anchor(self) -> None:
        self.fetch_plain()

    def check_plain(self) -> bool:
        return self.peek() == "@" or bool(super().check_plain())


def load_yaml(text: str) -> Any:
    """Parse ``text``; a syntax error becomes a :class:`DSLError` naming line and column."""
    try:
        return yaml.load(text, Loader=_PlainAnchorLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "syntax error"
        raise DSLError([f"Definition could not be parsed: {problem}{where}"]) from exc
    except yaml.YAMLError as exc:
        raise DSLError([f"Definition could not be parsed: {exc}"]) from exc


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False)
