"""flock-based locks: one per container, and short store-wide ones for shared indexes."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from richcontainer.errors import Conflict


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool = True, what: str = "") -> Iterator[None]:
    """Hold an exclusive flock on PATH for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise Conflict(f"{what or path.name} is busy: another richcontainer command holds its lock") from None
        yield
    finally:
        os.close(fd)


def is_locked(path: Path) -> bool:
    """True if someone holds PATH's flock right now (probe without waiting)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
