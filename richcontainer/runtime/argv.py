"""argv of runtime calls, in plain functions (stdlib only: the thin client's exec fast path uses them)."""

from __future__ import annotations

import os


def base_argv(path: str, root: str | os.PathLike[str]) -> list[str]:
    """The runtime binary with its state root and JSON error lines: every call starts with this."""
    return [path, "--root", os.fspath(root), "--log-format", "json"]


def exec_argv(base: list[str], cid: str, args: list[str], *, tty: bool = False, env: list[str] | tuple[str, ...] = (),
              user: str | None = None, cwd: str | None = None, detach: bool = False) -> list[str]:
    """`runtime exec` of ARGS in container CID (BASE from base_argv)."""
    argv = [*base, "exec"]
    if tty:
        argv.append("--tty")
    if detach:
        argv.append("--detach")
    for e in env:
        argv += ["--env", e]
    if user:
        argv += ["--user", user]
    if cwd:
        argv += ["--cwd", cwd]
    return [*argv, cid, *args]
