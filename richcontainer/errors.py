"""The exception tree; only the CLI turns these into exit codes.

    RichContainerError (1)
    ├── UsageError (2)            bad flag values, bad names, bad input files
    │   └── ImageInputError (2)   corrupt or hostile image tarballs
    ├── NotFound (3)              unknown container, image or network
    ├── Conflict (4)              name taken, image in use, container busy or in the wrong state
    ├── CompatRefused (5)         this host cannot run what was asked (from the planner)
    └── RuntimeFailure (125)      runc, conmon, mount or another tool failed
        └── CommandTimeout (125)
"""

from __future__ import annotations

from typing import ClassVar


class RichContainerError(Exception):
    """Base of every error richcontainer raises on purpose."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(RichContainerError):
    exit_code = 2


class ImageInputError(UsageError):
    pass


class NotFound(RichContainerError):
    exit_code = 3


class Conflict(RichContainerError):
    exit_code = 4


class CompatRefused(RichContainerError):
    exit_code = 5


class RuntimeFailure(RichContainerError):
    exit_code = 125


class CommandTimeout(RuntimeFailure):
    pass
