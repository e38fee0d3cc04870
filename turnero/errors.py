"""Errors the engine raises; each carries a stable code and the HTTP status it maps to."""

from __future__ import annotations


class TurneroError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class InvalidInput(TurneroError):
    status = 400
    code = "invalid"


class Forbidden(TurneroError):
    """The caller may not do this here (an asesor at a colleague's módulo)."""

    status = 403
    code = "forbidden"


class NotFound(TurneroError):
    status = 404
    code = "not_found"


class Conflict(TurneroError):
    """The request is well formed but the current state does not allow it."""

    status = 409
    code = "conflict"
