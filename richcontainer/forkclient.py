"""Client half of the forkserver: hand argv, env, cwd and our stdio fds to a warm server.

Standard library only. Returns the command's exit code, or None when no server can take
the command (the caller then runs it in-process and a server is started for next time).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

PACKAGE_DIRS = ("richcontainer", "compat", "hooks", "lxcfs_py")
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGWINCH, signal.SIGUSR1, signal.SIGUSR2)


def code_key() -> str:
    """Changes whenever the installed code or interpreter changes, so a stale server is never used."""
    top = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(sys.executable.encode())
    for d in PACKAGE_DIRS:
        try:
            with os.scandir(top / d) as it:
                for e in it:
                    if e.name.endswith(".py") or e.is_dir():
                        h.update(f"{e.name}{e.stat().st_mtime_ns}".encode())
        except FileNotFoundError:
            continue
    return h.hexdigest()[:16]


def socket_path() -> Path:
    from richcontainer.paths import StorePaths

    return StorePaths.from_env().run / f"forkserver-{code_key()}.sock"


def send_msg(sock: socket.socket, obj: object, fds: list[int] | None = None) -> None:
    data = json.dumps(obj).encode()
    payload = struct.pack("!I", len(data)) + data
    if fds:
        socket.send_fds(sock, [payload], fds)
    else:
        sock.sendall(payload)


def recv_msg(sock: socket.socket) -> object | None:
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    body = _recv_exact(sock, struct.unpack("!I", head)[0])
    return None if body is None else json.loads(body)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except InterruptedError:
            continue
        if not chunk:
            return None
        buf += chunk
    return buf


def start_server(path: Path) -> None:
    """Start a detached forkserver for PATH (it outlives us and exits after being idle)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    subprocess.Popen([sys.executable, "-m", "richcontainer.forkserver", os.fspath(path)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)


def try_forkserver(argv: list[str]) -> int | None:
    path = socket_path()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.connect(os.fspath(path))
    except OSError:
        sock.close()
        if os.environ.get("RICHCONTAINER_FORKSERVER_AUTOSTART", "1") != "0":
            try:
                start_server(path)
            except OSError:
                pass
        return None
    with sock:
        send_msg(sock, {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}, [0, 1, 2])
        hello = recv_msg(sock)
        if not isinstance(hello, dict) or "pid" not in hello:
            return None
        pid = int(hello["pid"])

        def forward(signo: int, _frame: object) -> None:
            try:
                os.killpg(pid, signo)
            except OSError:
                pass

        for s in FORWARDED:
            signal.signal(s, forward)
        done = recv_msg(sock)
    if isinstance(done, dict) and "code" in done:
        return int(done["code"])
    print("richcontainer: the command's worker process died", file=sys.stderr)
    return 125
