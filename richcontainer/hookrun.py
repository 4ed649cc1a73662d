"""Run OCI hooks the way a runtime does: state JSON on stdin, exact env, timeout then SIGKILL.

The manager uses this for poststop (after ``runc delete``, like Podman) and keeps the returned
results for ``inspect``. Stdlib only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass

STDERR_TAIL = 4096
POST_KILL_WAIT = 10.0


@dataclass
class HookResult:
    """What one hook did; ``exit_status`` is None when it could not be started."""

    path: str
    stage: str
    exit_status: int | None
    stderr: str
    duration: float
    timed_out: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.timed_out and self.error is None

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """One line for logs and errors."""
        if self.error:
            why = self.error
        elif self.timed_out:
            why = "timed out"
        else:
            why = f"exit status {self.exit_status}"
        tail = self.stderr.strip().splitlines()[-1:] if self.stderr.strip() else []
        return f"{self.stage} hook {self.path}: {why}" + (f": {tail[0]}" if tail else "")


def oci_state(container_id: str, bundle: str, status: str = "stopped", pid: int | None = None,
              annotations: dict[str, str] | None = None) -> dict:
    """The OCI state object a hook reads on stdin."""
    st: dict = {"ociVersion": "1.0.2", "id": container_id, "status": status, "bundle": bundle,
                "annotations": dict(annotations or {})}
    if pid:
        st["pid"] = pid
    return st


def run_hook(hook: dict, state: dict, stage: str, cwd: str | None = None) -> HookResult:
    """Run one OCI hook dict with STATE as JSON on stdin; never raises for hook failures."""
    path = hook["path"]
    argv = list(hook.get("args") or [path])
    env = dict(e.split("=", 1) for e in hook.get("env", []))
    timeout = hook.get("timeout")
    data = json.dumps(state).encode()
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(argv, executable=path, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env, cwd=cwd if cwd and os.path.isdir(cwd) else None,
                                start_new_session=True, close_fds=True)
    except OSError as e:
        return HookResult(path, stage, None, "", time.monotonic() - t0, error=f"cannot run: {e.strerror}")
    timed_out = False
    try:
        _, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid)
        try:
            _, err = proc.communicate(timeout=POST_KILL_WAIT)
        except subprocess.TimeoutExpired:
            err = b""
    except BrokenPipeError:  # the hook did not read its stdin: fine
        err = proc.stderr.read() if proc.stderr else b""
        proc.wait()
    rc = proc.returncode
    tail = (err or b"")[-STDERR_TAIL:].decode("utf-8", "replace")
    return HookResult(path, stage, rc, tail, time.monotonic() - t0, timed_out=timed_out)


def _kill_group(pid: int) -> None:
    """SIGKILL the hook and anything it started in its session (which we created)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_hooks(hooks: list[dict], state: dict, stage: str, *, stop_on_error: bool = True,
              cwd: str | None = None) -> list[HookResult]:
    """Run HOOKS in order; stop at the first failure when STOP_ON_ERROR (stages before start)."""
    results: list[HookResult] = []
    for h in hooks:
        r = run_hook(h, state, stage, cwd=cwd)
        results.append(r)
        if stop_on_error and not r.ok:
            break
    return results
