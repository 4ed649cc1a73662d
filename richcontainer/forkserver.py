"""A warm zygote for the CLI: imports everything once, then forks one child per command.

Each child takes over the client's stdio fds, cwd and environment, runs the click CLI exactly
as `python -m richcontainer` would, and reports the exit code. Children are in their own
process group so the client can forward signals. The server exits when idle, or when its code
key (in the socket name) no longer matches the installed code.
Usage: python -m richcontainer.forkserver SOCKET_PATH
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import io
import os
import random
import select
import signal
import socket
import struct
import sys
from pathlib import Path

from richcontainer.forkclient import code_key, decode_request, reply

IDLE_SECONDS = float(os.environ.get("RICHCONTAINER_FORKSERVER_IDLE", "900"))
CHECK_SECONDS = 20.0


def preload() -> None:
    """Import what commands need, and build pydantic's validators, before any fork."""
    import richcontainer.cli  # noqa: F401  (click, every command module)
    import richcontainer.create  # noqa: F401
    import richcontainer.manager  # noqa: F401
    import richcontainer.model.oci  # noqa: F401
    import richcontainer.spec.builder  # noqa: F401
    from richcontainer.templating import render

    for mod in ("jinja2", "richcontainer.hookplug", "richcontainer.netplug", "richcontainer.planning",
                "richcontainer.systemd", "richcontainer.logs", "richcontainer.stats", "richcontainer.ocihooks",
                "richcontainer.hookrun", "richcontainer.networks", "richcontainer.lxcfs", "lxcfs_py.supervise",
                "richcontainer.storage", "compat.plan", "compat.probe", "compat.guest"):
        with contextlib.suppress(Exception):
            __import__(mod)
    with contextlib.suppress(Exception):
        render("hostname.j2", hostname="warm")


def serve(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another server for this socket is starting or running
    preload()
    gc.collect()
    gc.freeze()  # children never scan (and so never copy) the preloaded heap in their collections
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old_umask = os.umask(0o077)
    srv.bind(os.fspath(path))
    os.umask(old_umask)
    srv.listen(128)
    Path(f"{path}.pid").write_text(str(os.getpid()))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda *_: _shutdown(srv, path))
    key = code_key()
    idle = 0.0
    try:
        while True:
            ready, _, _ = select.select([srv], [], [], min(CHECK_SECONDS, IDLE_SECONDS))
            if not ready:
                idle += min(CHECK_SECONDS, IDLE_SECONDS)
                if idle >= IDLE_SECONDS or code_key() != key or not path.exists():
                    break  # idle too long, or the installed code changed under us
                continue
            idle = 0.0
            try:
                conn, _ = srv.accept()
            except InterruptedError:
                continue
            pid = os.fork()
            if pid == 0:
                srv.close()
                _child(conn)  # never returns
            conn.close()
    finally:
        _shutdown(srv, path)


def _shutdown(srv: socket.socket, path: Path) -> None:
    with contextlib.suppress(OSError):
        srv.close()
    for p in (path, Path(f"{path}.pid")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    os._exit(0)


def _child(conn: socket.socket) -> None:
    code = 125
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setpgid(0, 0)
        head = conn.recv(4, socket.MSG_PEEK)
        n = struct.unpack("!I", head)[0] if len(head) == 4 else 0
        msg, fds, _flags, _addr = socket.recv_fds(conn, 4 + n, 3)
        argv, env, cwd = decode_request(msg[4:] + _rest(conn, 4 + n - len(msg)))
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target, inheritable=True)
            os.close(fd)
        sys.stdin = io.TextIOWrapper(open(0, "rb", closefd=False), errors="replace")
        sys.stdout = io.TextIOWrapper(open(1, "wb", buffering=0, closefd=False), write_through=True,
                                      line_buffering=os.isatty(1))
        sys.stderr = io.TextIOWrapper(open(2, "wb", buffering=0, closefd=False), write_through=True)
        os.chdir(cwd)
        for key in set(os.environ) - set(env):  # only the differences: each change is a putenv
            del os.environ[key]
        for key, value in env.items():
            if os.environ.get(key) != value:
                os.environ[key] = value
        random.seed()
        conn.sendall(reply(b"P", os.getpid()))
        from richcontainer import forkclient
        from richcontainer.cli import main

        forkclient.WORKER_CONN = conn

        try:
            main(args=argv, prog_name="richcontainer", standalone_mode=True)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
    except BaseException as e:  # noqa: BLE001 - the worker must always answer
        with contextlib.suppress(Exception):
            print(f"richcontainer: internal error: {type(e).__name__}: {e}", file=sys.stderr)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(Exception):
            conn.sendall(reply(b"C", code))
        os._exit(code if 0 <= code < 256 else 1)


def _rest(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
