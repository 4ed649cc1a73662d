"""Errors raised by the compat layer."""

from __future__ import annotations


class CompatError(Exception):
    """The requested container cannot run on this host; the message says why (one line)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
