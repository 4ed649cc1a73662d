"""Atomic file writes and small filesystem helpers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: str | bytes, mode: int = 0o600, *, durable: bool = True) -> None:
    """Write DATA to PATH via a temp file in the same directory: fsync, rename, fsync dir.

    durable=False skips both fsyncs: for files that are rebuilt from state.json (bundle files),
    which must never be seen half-written but need not survive a power cut."""
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(path.parent)


def is_mountpoint(path: Path) -> bool:
    """True if PATH is a mount point, judged from /proc/self/mountinfo (bind mounts included)."""
    target = os.fspath(path)
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            for line in f:
                mp = line.split(" ", 5)[4].replace("\\040", " ")
                if mp == target:
                    return True
    except OSError:
        return False
    return False
