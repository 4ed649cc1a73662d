"""Supervisor: keeps the FUSE daemon alive, cleans stale mounts, re-attaches containers.

`ensure_running()` starts (once, under an flock) a detached supervisor process,
`python -m lxcfs_py supervise --mount M --state-dir D [--on-restart-json ARGV]`, which:
  1. lazily unmounts a stale lxcfs_py mount at M (left by a killed daemon, lxcfs#204),
  2. starts `python -m lxcfs_py --foreground M` and waits until the mount answers,
  3. once the mount answers, runs the on-restart command, or by default re-attaches every
     container that uses lxcfs_py files (attach.reattach_all): after a crash, and on a first start
     too, since containers may have outlived a `stop --force` or a killed supervisor,
  4. when the daemon dies, goes back to 1 (backoff up to 5 s when it keeps dying fast).
SIGTERM to the supervisor stops the daemon and unmounts M. State files in D: supervisor.pid,
daemon.pid, supervisor.log, lock.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import time

from . import mounts

READY_TIMEOUT = 15.0


def _read_pid(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _is_supervisor(pid: int, state_dir: str) -> bool:
    """PID is alive and is our supervisor for STATE_DIR (guards against pid reuse)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and b"supervise" in argv and os.fsencode(os.path.abspath(state_dir)) in argv


def _wait_healthy(mountpoint: str, timeout: float, alive=None) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if mounts.is_healthy(mountpoint):
            return True
        if alive is not None and not alive():
            return False
        time.sleep(0.05)
    return False


def ensure_running(mountpoint: str, state_dir: str, on_restart: list[str] | None = None,
                   daemon_args: list[str] | None = None) -> int:
    """Start the supervisor + daemon for MOUNTPOINT unless already running and mounted; return
    the supervisor pid. Idempotent and safe under concurrent calls (flock on STATE_DIR/lock).
    ON_RESTART: argv run after each daemon restart (default: re-attach all containers).
    Raises RuntimeError when the mount does not come up."""
    mountpoint = os.path.abspath(mountpoint)
    state_dir = os.path.abspath(state_dir)
    os.makedirs(state_dir, exist_ok=True)
    try:
        os.makedirs(mountpoint, exist_ok=True)
    except FileExistsError:  # a stale mount of a killed daemon (ENOTCONN): the supervisor detaches it
        if not mounts.is_lxcfs_mounted(mountpoint):
            raise
    lock = os.open(os.path.join(state_dir, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pidfile = os.path.join(state_dir, "supervisor.pid")
        pid = _read_pid(pidfile)
        if pid and _is_supervisor(pid, state_dir):
            if _wait_healthy(mountpoint, READY_TIMEOUT, lambda: _is_supervisor(pid, state_dir)):
                return pid
            raise RuntimeError(f"lxcfs_py supervisor {pid} runs but {mountpoint} is not mounted")
        argv = [sys.executable, "-m", "lxcfs_py", "supervise", "--mount", mountpoint,
                "--state-dir", state_dir, "--daemonize"]
        if on_restart:
            argv += ["--on-restart-json", json.dumps(on_restart)]
        if daemon_args:
            argv += ["--daemon-args-json", json.dumps(daemon_args)]
        env = dict(os.environ)
        pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = pkg_parent + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            os.unlink(pidfile)
        except OSError:
            pass
        with open(os.path.join(state_dir, "supervisor.log"), "ab") as log:
            first = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   env=env, timeout=30, check=False)
        if first.returncode != 0:
            raise RuntimeError(f"lxcfs_py supervisor failed to start (see {state_dir}/supervisor.log)")
        end = time.monotonic() + 10
        while (pid := _read_pid(pidfile)) is None and time.monotonic() < end:
            time.sleep(0.02)
        if not pid or not _wait_healthy(mountpoint, READY_TIMEOUT,
                                        lambda: _is_supervisor(pid, state_dir)):
            raise RuntimeError(f"lxcfs_py did not mount {mountpoint} (see {state_dir}/supervisor.log)")
        return pid
    finally:
        os.close(lock)


def stop(state_dir: str, timeout: float = 10.0) -> None:
    """Stop the supervisor of STATE_DIR (it stops its daemon) and unmount; no-op if not running."""
    state_dir = os.path.abspath(state_dir)
    pid = _read_pid(os.path.join(state_dir, "supervisor.pid"))
    mnt = None
    try:
        with open(os.path.join(state_dir, "mountpoint")) as f:
            mnt = f.read().strip()
    except OSError:
        pass
    if pid and _is_supervisor(pid, state_dir):
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + timeout
        while time.monotonic() < end and _is_supervisor(pid, state_dir):
            time.sleep(0.05)
        if _is_supervisor(pid, state_dir):
            dpid = _read_pid(os.path.join(state_dir, "daemon.pid"))
            os.kill(pid, signal.SIGKILL)
            if dpid:
                try:
                    os.kill(dpid, signal.SIGKILL)
                except OSError:
                    pass
    if mnt:
        mounts.cleanup_mount(mnt)
    for f in ("supervisor.pid", "daemon.pid"):
        try:
            os.unlink(os.path.join(state_dir, f))
        except OSError:
            pass


class _Supervisor:
    def __init__(self, mountpoint: str, state_dir: str, on_restart: list[str] | None,
                 daemon_args: list[str]) -> None:
        self.mnt = mountpoint
        self.state = state_dir
        self.on_restart = on_restart
        self.daemon_args = daemon_args
        self.stopping = False
        self.child: subprocess.Popen | None = None

    def _log(self, msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} lxcfs_py supervisor: {msg}", flush=True)

    def _term(self, *_a) -> None:
        self.stopping = True
        if self.child and self.child.poll() is None:
            self.child.terminate()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._term)
        signal.signal(signal.SIGINT, self._term)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        fails = 0
        while not self.stopping:
            cleaned = mounts.cleanup_mount(self.mnt)
            if cleaned:
                self._log(f"cleaned stale mount {self.mnt}")
            started = time.monotonic()
            argv = [sys.executable, "-m", "lxcfs_py", "--foreground", *self.daemon_args, self.mnt]
            self.child = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
            with open(os.path.join(self.state, "daemon.pid"), "w") as f:
                f.write(f"{self.child.pid}\n")
            self._log(f"daemon {self.child.pid} started")
            if _wait_healthy(self.mnt, READY_TIMEOUT, lambda: self.child.poll() is None):
                self._reattach()  # also on the first start: containers may have outlived a stop
            while True:
                try:
                    rc = self.child.wait()
                    break
                except InterruptedError:
                    continue
            self._log(f"daemon {self.child.pid} exited with {rc}")
            if self.stopping:
                break
            fails = fails + 1 if time.monotonic() - started < 2 else 0
            if fails:
                time.sleep(min(0.2 * 2 ** fails, 5.0))
        mounts.cleanup_mount(self.mnt)
        return 0

    def _reattach(self) -> None:
        if self.on_restart:
            try:
                r = subprocess.run(self.on_restart, stdin=subprocess.DEVNULL, timeout=60, check=False)
                self._log(f"on-restart {self.on_restart} -> {r.returncode}")
            except (OSError, subprocess.TimeoutExpired) as e:
                self._log(f"on-restart failed: {e}")
            return
        from .attach import reattach_all
        errors = reattach_all(self.mnt)
        self._log(f"re-attached containers, errors: {errors or 'none'}")


def supervise_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lxcfs-py supervise")
    p.add_argument("--mount", required=True)
    p.add_argument("--state-dir", required=True)
    p.add_argument("--on-restart-json")
    p.add_argument("--daemon-args-json")
    p.add_argument("--daemonize", action="store_true")
    a = p.parse_args(argv)
    mnt, state = os.path.abspath(a.mount), os.path.abspath(a.state_dir)
    on_restart = json.loads(a.on_restart_json) if a.on_restart_json else None
    dargs = json.loads(a.daemon_args_json) if a.daemon_args_json else []
    if a.daemonize:
        # Double fork: the caller reaps the first child at once; the supervisor is re-parented
        # and survives the CLI that started it.
        if os.fork() > 0:
            return 0
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
    os.makedirs(state, exist_ok=True)
    with open(os.path.join(state, "mountpoint"), "w") as f:
        f.write(mnt + "\n")
    with open(os.path.join(state, "supervisor.pid"), "w") as f:
        f.write(f"{os.getpid()}\n")
    return _Supervisor(mnt, state, on_restart, dargs).run()
