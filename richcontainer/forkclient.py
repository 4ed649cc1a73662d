"""Client half of the forkserver: hand argv, env, cwd and our stdio fds to a warm server.

It imports only built-in modules (no json, re, enum: they would cost more than the command),
and returns the command's exit code, or None when no server can take the command (the caller
then runs the CLI itself, and a server is started for next time).

Wire format: request = 4-byte length + NUL-separated fields (cwd, argc, argv..., env...), with
fds 0-2 attached; replies = b"P" + pid, then b"C" + exit code (4-byte signed ints each), or
instead of b"C" a hand-back: b"X" + length, then NUL-separated fields (stdin mode, argc, argv...,
env...) that the client exec's itself (`exec`: the runtime then runs in the user's process group
with the user's stdio, and no process stays between them).
"""

from __future__ import annotations

import os
import sys
import zlib

import _signal
import _socket
import _struct

PACKAGE_DIRS = ("richcontainer", "compat", "hooks", "lxcfs_py")
FORWARDED = (2, 15, 1, 3, 28, 10, 12)  # INT, TERM, HUP, QUIT, WINCH, USR1, USR2


def code_key() -> str:
    """Changes whenever the installed code or interpreter changes, so a stale server is never used."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = zlib.crc32(sys.executable.encode())
    for d in PACKAGE_DIRS:
        try:
            with os.scandir(os.path.join(top, d)) as it:
                for e in it:
                    if e.name.endswith(".py") or e.is_dir():
                        h = zlib.crc32(f"{e.name}{e.stat().st_mtime_ns}".encode(), h)
        except FileNotFoundError:
            continue
    return f"{h:08x}"


def socket_path() -> str:
    from richcontainer.runroot import run_dir, store_root

    return os.path.join(run_dir(store_root()), f"forkserver-{code_key()}.sock")


def encode_request(argv: list[str], env: dict[str, str], cwd: str) -> bytes:
    fields = [cwd, str(len(argv)), *argv, *(f"{k}={v}" for k, v in env.items())]
    payload = b"\0".join(os.fsencode(f) for f in fields)
    return _struct.pack("!I", len(payload)) + payload


def decode_request(payload: bytes) -> tuple[list[str], dict[str, str], str]:
    fields = [os.fsdecode(f) for f in payload.split(b"\0")]
    cwd, argc = fields[0], int(fields[1])
    argv = fields[2:2 + argc]
    env = dict(item.split("=", 1) for item in fields[2 + argc:] if "=" in item)
    return argv, env, cwd


def reply(kind: bytes, value: int) -> bytes:
    return kind + _struct.pack("!i", value)


WORKER_CONN = None  # set in a forkserver worker: the connection to its client


def hand_back_exec(argv: list[str], env: dict[str, str], stdin_null: bool) -> None:
    """In a forkserver worker, have the client exec ARGV with ENV (never returns); elsewhere
    exec it in this process. Either way the command's exit code is ARGV's own."""
    sys.stdout.flush()
    sys.stderr.flush()
    if WORKER_CONN is None:
        exec_argv_here(argv, env, stdin_null)
    fields = ["n" if stdin_null else "-", str(len(argv)), *argv, *(f"{k}={v}" for k, v in env.items())]
    payload = b"\0".join(os.fsencode(f) for f in fields)
    WORKER_CONN.sendall(reply(b"X", len(payload)) + payload)
    os._exit(0)


def exec_argv_here(argv: list[str], env: dict[str, str], stdin_null: bool) -> None:
    """Replace this process by ARGV with ENV (stdin from /dev/null if STDIN_NULL); never returns."""
    if stdin_null:
        fd = os.open("/dev/null", os.O_RDONLY)
        os.dup2(fd, 0)
        os.close(fd)
    try:
        os.execve(argv[0], argv, env)
    except OSError as e:
        os.write(2, f"richcontainer: cannot run {argv[0]}: {e.strerror}\n".encode())
        os._exit(127)


def _exec_handed_back(payload: bytes) -> None:
    fields = [os.fsdecode(f) for f in payload.split(b"\0")]
    argc = int(fields[1])
    env = dict(item.split("=", 1) for item in fields[2 + argc:] if "=" in item)
    exec_argv_here(fields[2:2 + argc], env, fields[0] == "n")


def _recv_exact(sock, n: int) -> bytes | None:  # noqa: ANN001
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


def confined() -> bool:
    """True under a seccomp filter (e.g. the old-kernel emulation harness, or a monitor's exit
    command there): a server started from here would pass the filter on to every later command."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Seccomp:"):
                    return line.split()[1] != b"0"
    except OSError:
        pass
    return False


def start_server(path: str) -> None:
    """Start a detached forkserver for PATH (it outlives us and exits after being idle)."""
    import subprocess

    if confined():
        return
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    subprocess.Popen([sys.executable, "-m", "richcontainer.forkserver", path],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)


def try_forkserver(argv: list[str]) -> int | None:
    path = socket_path()
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        if os.environ.get("RICHCONTAINER_FORKSERVER_AUTOSTART", "1") != "0":
            try:
                start_server(path)
            except OSError:
                pass
        return None
    try:
        fds = _struct.pack("3i", 0, 1, 2)
        sock.sendmsg([encode_request(argv, dict(os.environ), os.getcwd())],
                     [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        hello = _recv_exact(sock, 5)
        if not hello or hello[:1] != b"P":
            return None
        pid = _struct.unpack("!i", hello[1:])[0]

        def forward(signo: int, _frame: object) -> None:
            try:
                os.killpg(pid, signo)
            except OSError:
                pass

        for s in FORWARDED:
            _signal.signal(s, forward)
        done = _recv_exact(sock, 5)
        if done and done[:1] == b"X":
            payload = _recv_exact(sock, _struct.unpack("!i", done[1:])[0])
            if payload is not None:
                sock.close()
                for s in FORWARDED:
                    _signal.signal(s, _signal.SIG_DFL)
                _exec_handed_back(payload)  # never returns
    finally:
        sock.close()
    if done and done[:1] == b"C":
        return _struct.unpack("!i", done[1:])[0]
    os.write(2, b"richcontainer: the command's worker process died\n")
    return 125
