"""Errors the engine raises; the web layer maps each to one HTTP status."""


class EngineError(Exception):
    """Base class; `message` is safe to show to the user."""


class NotFound(EngineError):
    """The thing asked for does not exist (HTTP 404)."""


class Forbidden(EngineError):
    """The actor may not do this (HTTP 403)."""


class Conflict(EngineError):
    """Stale or concurrent change: the task is gone, claimed or the instance moved on (HTTP 409)."""


class InvalidInput(EngineError):
    """Submitted data is invalid; `fields` maps a field path to its messages (HTTP 400)."""

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.fields = fields or {}


class ProcessError(EngineError):
    """The diagram could not run (bad expression, failing service); recorded, never swallowed."""
