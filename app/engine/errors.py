"""Errors of the engine layer. The API maps each class to one HTTP status."""

from __future__ import annotations


class EngineError(Exception):
    """Raised when the engine refuses an operation; base of every engine error."""

    http_status = 400


class DSLError(EngineError):
    """Raised when a workflow, workbook or action definition is invalid.

    ``problems`` holds every problem found, each as ``"path: message"``.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("Invalid DSL:\n" + "\n".join(self.problems))


class InputError(EngineError):
    """Raised when workflow or action input does not match its declaration."""


class ExpressionError(EngineError):
    """Raised when a YAQL or Jinja expression cannot be parsed or evaluated."""


class NotFound(EngineError):
    """Raised when a requested object does not exist."""

    http_status = 404


class WorkflowNotFound(NotFound):
    """Raised when a task's sub-workflow names a workflow that does not exist."""


class ActionInstantiationError(EngineError):
    """Raised when an ad-hoc action's base input cannot be evaluated: the task fails (on-error may
    handle it), the workflow is not failed at once."""


class Conflict(EngineError):
    """Raised when an object already exists or is already in a final state."""

    http_status = 409


class InvalidStateTransition(EngineError):
    """Raised when a caller asks for a state change the state machine does not allow."""


class IllegalTransition(Exception):
    """Raised when the engine itself tries a state change its tables do not allow.

    Not an :class:`EngineError`: no caller asked for it, so it is a bug of the engine (a 500 in the
    API, a failed task in a worker), and the transaction that tried it is rolled back.
    """

    def __init__(self, message: str, fields: dict[str, object]) -> None:
        super().__init__(message)
        self.fields = fields


class NotAllowed(EngineError):
    """Raised when an operation is refused in the object's current state."""

    http_status = 403


class GatewayTimeout(EngineError):
    """Raised when the API waited for a result that did not come in time."""

    http_status = 504
