"""What a caller can get wrong, as typed exceptions shared by every layer; the API maps each to
one HTTP status once, the CLI to exit code 2."""

from __future__ import annotations


class NotFound(LookupError):
    """404: no such item in the caller's account."""


class Forbidden(PermissionError):
    """403: the caller may read but not change, or lacks the seat."""


class Conflict(Exception):
    """409: the item changed since it was read, or its state does not allow the request."""


class InvalidRequest(ValueError):
    """400: a field of the request is wrong; `path` names it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
