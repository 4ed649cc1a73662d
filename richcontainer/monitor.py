"""Per-container monitor: Debian's conmon owns the pty/log pipes, records the exit code, and
calls our exit command (cleanup, restart policy, poststop) when the container ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from richcontainer.errors import RuntimeFailure
from richcontainer.util.proc import clean_env


@dataclass(frozen=True)
class MonitorArgs:
    cid: str
    name: str
    runtime_path: str
    runtime_root: Path
    bundle: Path
    cdir: Path
    exit_dir: Path
    socket_dir: Path
    store_root: Path
    terminal: bool
    stdin: bool = False
    run_root: Path | None = None


def monitor_program(runtime_path: str) -> list[str]:
    """conmon, or for the legacy runtime its conmon-compatible rcmon (conmon needs
    PR_SET_CHILD_SUBREAPER, Linux 3.4, which the hosts needing the legacy runtime lack)."""
    if os.path.basename(runtime_path) == "rclegacy.py":
        return [sys.executable, os.path.join(os.path.dirname(runtime_path), "rcmon.py")]
    return ["conmon"]


def conmon_argv(a: MonitorArgs) -> list[str]:
    argv = [*monitor_program(a.runtime_path), "--api-version", "1", "-c", a.cid, "-u", a.cid, "-n", a.name,
            "-r", a.runtime_path, "-b", os.fspath(a.bundle),
            "-p", os.fspath(a.cdir / "pidfile"), "-P", os.fspath(a.cdir / "conmon.pid"),
            "-l", "k8s-file:" + os.fspath(a.cdir / "ctr.log"), "--log-size-max", str(64 << 20),
            "--exit-dir", os.fspath(a.exit_dir), "--socket-dir-path", os.fspath(a.socket_dir),
            "--runtime-arg", "--root=" + os.fspath(a.runtime_root),
            "--exit-command", sys.executable,
            "--exit-command-arg", "-S", "--exit-command-arg", os.path.join(os.path.dirname(__file__), "exitcmd.py"),
            "--exit-command-arg", os.fspath(a.store_root), "--exit-command-arg", a.cid]
    if a.terminal:
        argv.append("--terminal")
    if a.stdin:
        argv.append("--stdin")
    return argv


def start_monitor(a: MonitorArgs, timeout: float = 60) -> int:
    """Start conmon, which runs `runtime create`; return the container's init pid once created."""
    r, w = os.pipe()
    try:
        # LANG=C: conmon needs no locale, and loading C.UTF-8's LC_CTYPE costs every monitor 64 KiB of RSS
        env = clean_env({"_OCI_SYNCPIPE": str(w), "LANG": "C",
                         **({"RICHCONTAINER_RUNROOT": os.fspath(a.run_root)} if a.run_root else {})})
        try:
            p = subprocess.Popen(conmon_argv(a), pass_fds=[w], env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        except FileNotFoundError:
            raise RuntimeFailure("conmon not found", hint="run scripts/install-deps.sh") from None
        os.close(w)
        w = -1
        data = b""
        import select

        while b"\n" not in data:
            ready, _, _ = select.select([r], [], [], timeout)
            if not ready:
                raise RuntimeFailure(f"conmon did not report the container within {timeout:g}s")
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
        err = p.stderr.read().decode(errors="replace").strip() if p.wait(timeout=10) else ""
        p.stderr.close()
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    try:
        msg = json.loads(data.decode().splitlines()[0])
    except (ValueError, IndexError):
        raise RuntimeFailure(f"conmon failed: {err or 'no report'}") from None
    pid = int(msg.get("data", -1))
    if pid <= 0:
        text = str(msg.get("message", "")).strip()
        raise RuntimeFailure(f"the runtime could not create the container: {_clean_runtime_message(text)}")
    return pid


def _clean_runtime_message(text: str) -> str:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
            if isinstance(rec, dict) and rec.get("msg"):
                return str(rec["msg"])
        except ValueError:
            return line
    return text


def monitor_pid(cdir: Path) -> int:
    try:
        return int((cdir / "conmon.pid").read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def monitors_of(cid: str) -> list[int]:
    """Pids of live monitors (conmon or rcmon) started for container CID, found by their argv.

    Used only to repair after a crash: a monitor outlives a killed CLI and may still be running
    `runtime create` for it."""
    needle = b"\0-c\0" + cid.encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read()
        except OSError:
            continue
        program = argv.split(b"\0", 1)[0]
        if needle in argv and (os.path.basename(program) == b"conmon" or b"rcmon.py" in argv):
            found.append(int(entry))
    return found


def monitor_alive(pid: int, cid: str) -> bool:
    """True if PID is a live monitor of container CID."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read()
    except OSError:
        return False
    return b"\0-c\0" + cid.encode() + b"\0" in argv


def read_exit(exit_dir: Path, cid: str) -> tuple[int, float] | None:
    """The exit code conmon recorded, with the time it was written."""
    path = exit_dir / cid
    try:
        text = path.read_text().strip()
        return int(text), path.stat().st_mtime
    except (OSError, ValueError):
        return None
