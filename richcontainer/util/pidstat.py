"""A process's identity from /proc: its pid plus its start time, so a reused pid never passes for it
(stdlib only: the thin client uses it too)."""

from __future__ import annotations


def proc_start_ticks(pid: int) -> int | None:
    """Start time of PID in clock ticks, or None if it is gone or a zombie."""
    if pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])
