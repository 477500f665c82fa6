from __future__ import annotations

import json
import logging

import pytest

from app import logs


def _record(**fields: object) -> logging.LogRecord:
    record = logging.LogRecord("app.engine.states", logging.INFO, __file__, 1, "execution %s: %s", ("wf", "ok"),
                               None)
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def test_json_lines_carry_the_fields_of_the_execution() -> None:
    line = logs.JsonFormatter().format(_record(execution_id="ex-1", task_id="t-1", state="SUCCESS"))

    parsed = json.loads(line)
    assert parsed["message"] == "execution wf: ok"
    assert (parsed["level"], parsed["logger"]) == ("INFO", "app.engine.states")
    assert (parsed["execution_id"], parsed["task_id"], parsed["state"]) == ("ex-1", "t-1", "SUCCESS")
    assert "\n" not in line and parsed["time"].endswith("Z")


def test_text_lines_end_with_the_ids() -> None:
    line = logs.TextFormatter().format(_record(execution_id="ex-1", request_id="r-9"))
    assert line.endswith("execution wf: ok [request_id=r-9 execution_id=ex-1]")


def test_the_format_is_text_or_json() -> None:
    assert logs.log_format({}) == "text"
    assert logs.log_format({"LOG_FORMAT": "JSON"}) == "json"
    with pytest.raises(ValueError, match="LOG_FORMAT must be one of text, json, not 'xml'"):
        logs.log_format({"LOG_FORMAT": "xml"})
