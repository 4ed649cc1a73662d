"""Fold what the system says into saved state: live pid (start-time checked), conmon's exit file.

Cheap on purpose (no runtime calls for the common cases) so `ps` stays fast with many containers.
"""

from __future__ import annotations

from pathlib import Path

from richcontainer.model.state import ContainerState, Status
from richcontainer.monitor import read_exit
from richcontainer.util.pidstat import proc_start_ticks


def alive(state: ContainerState) -> bool:
    return state.pid > 0 and proc_start_ticks(state.pid) == state.pid_start


def read_pidfile(cdir: Path) -> int:
    try:
        return int((cdir / "pidfile").read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def observed_status(state: ContainerState, cdir: Path, exit_dir: Path) -> tuple[Status, int | None, float]:
    """What is true now: (status, exit code, finished time)."""
    if state.status in (Status.RUNNING, Status.PAUSED) or (state.status == Status.CREATED and state.pid > 0):
        pid = state.pid or read_pidfile(cdir)
        if pid and (state.pid_start == 0 or state.pid != pid):
            ticks = proc_start_ticks(pid)
            if ticks is not None:
                return state.status, None, 0.0
        elif alive(state):
            return state.status, None, 0.0
        ex = read_exit(exit_dir, state.id)
        if ex is not None:
            return Status.EXITED, ex[0], ex[1]
        return Status.EXITED, state.exit_code, state.finished_at
    return state.status, state.exit_code, state.finished_at
