"""Errors the engine raises; the web layer maps each class to one HTTP status.

Every error carries a `reason`: a stable code naming what went wrong (`task_claimed`,
`link_expired`), so pages and API clients translate or act on it without reading the message.
The message is for logs and for API clients that show it as it is.
"""


class EngineError(Exception):
    """Base class; `message` is safe to show to the user, `reason` is the stable code."""

    reason = "error"

    def __init__(self, message: str = "", reason: str | None = None):
        super().__init__(message)
        if reason:
            self.reason = reason


class NotFound(EngineError):
    """The thing asked for does not exist (HTTP 404)."""

    reason = "not_found"


class Forbidden(EngineError):
    """The actor may not do this (HTTP 403)."""

    reason = "forbidden"


class Conflict(EngineError):
    """Stale or concurrent change: the task is gone, claimed or the instance moved on (HTTP 409)."""

    reason = "conflict"


class InvalidInput(EngineError):
    """Submitted data is invalid; `fields` maps a field path to its messages (HTTP 400)."""

    reason = "invalid_input"

    def __init__(self, message, fields=None, reason: str | None = None):
        super().__init__(message, reason)
        self.fields = fields or {}


class ProcessError(EngineError):
    """The diagram could not run (bad expression, failing service); recorded, never swallowed."""

    reason = "process_error"
