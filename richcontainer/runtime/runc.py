"""A thin wrapper around a runc-compatible runtime CLI (runc, crun, or a path).

It runs one verb per call and maps failures to RuntimeFailure; state management is the manager's.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from richcontainer.errors import NotFound, RuntimeFailure, UsageError
from richcontainer.runtime.argv import base_argv, exec_argv
from richcontainer.util import proc


def resolve_runtime(name: str) -> str:
    """'runc', 'crun' or a path -> absolute path of the runtime binary."""
    if "/" in name:
        if not os.access(name, os.X_OK):
            raise UsageError(f"runtime {name!r} is not an executable file")
        return os.path.abspath(name)
    found = shutil.which(name, path=proc.clean_env()["PATH"])
    if not found:
        raise NotFound(f"runtime {name!r} not found", hint="install it, or pass --runtime PATH")
    return found


def _error_message(stderr: str) -> str:
    for line in reversed(stderr.strip().splitlines()):
        try:
            rec = json.loads(line)
        except ValueError:
            if line.strip():
                return line.strip().removeprefix("Error: ")
            continue
        if isinstance(rec, dict) and rec.get("msg"):
            return str(rec["msg"])
    return stderr.strip()


class Runtime:
    """One runtime binary with its own state root."""

    def __init__(self, path: str, root: Path) -> None:
        self.path = path
        self.root = root
        self.name = os.path.basename(path)

    def base(self) -> list[str]:
        return base_argv(self.path, self.root)

    def _call(self, *args: str, timeout: float = 30, input: str | None = None) -> str:
        p = proc.run([*self.base(), *args], check=False, timeout=timeout, input=input)
        if p.returncode != 0:
            raise RuntimeFailure(f"{self.name} {args[0]}: {_error_message(p.stderr) or 'exit ' + str(p.returncode)}")
        return p.stdout

    def state(self, cid: str) -> dict | None:
        p = proc.run([*self.base(), "state", cid], check=False, timeout=15)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def start(self, cid: str) -> None:
        self._call("start", cid)

    def kill(self, cid: str, sig: int, all_procs: bool = False) -> None:
        self._call("kill", *(["--all"] if all_procs else []), cid, str(sig))

    def delete(self, cid: str, force: bool = True) -> None:
        p = proc.run([*self.base(), "delete", *(["--force"] if force else []), cid], check=False, timeout=30)
        if p.returncode != 0 and "does not exist" not in p.stderr and "not exist" not in p.stderr:
            raise RuntimeFailure(f"{self.name} delete: {_error_message(p.stderr)}")

    def pause(self, cid: str) -> None:
        self._call("pause", cid)

    def resume(self, cid: str) -> None:
        self._call("resume", cid)

    def update(self, cid: str, resources: dict) -> None:
        self._call("update", "--resources", "-", cid, input=json.dumps(resources))

    def pids(self, cid: str) -> list[int]:
        return list(json.loads(self._call("ps", "--format", "json", cid) or "[]"))

    def run_argv(self, cid: str, bundle: Path, pidfile: Path) -> list[str]:
        """Foreground run: runc prints its own one-line error to stderr if it fails."""
        return [*self.base(), "run", "--bundle", os.fspath(bundle),
                "--pid-file", os.fspath(pidfile), cid]

    def exec_argv(self, cid: str, args: list[str], *, tty: bool, env: list[str], user: str | None,
                  cwd: str | None, detach: bool = False) -> list[str]:
        return exec_argv(self.base(), cid, args, tty=tty, env=env, user=user, cwd=cwd, detach=detach)
