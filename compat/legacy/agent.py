"""The exec agent: forked by the container's init before it execs, so it lives in all of the
container's namespaces and cgroups (2.6.32 has no setns for mnt/pid). It listens on a unix socket
in the state dir; a client sends one JSON request plus its stdin/stdout/stderr fds (SCM_RIGHTS).

Requests: {"op": "start"} releases the container's init; {"op": "exec", "args", "env", "cwd", "uid",
"gid", "detach"} forks ARGS with the passed fds and answers {"pid": container pid}, then
{"exit": code} unless detached. The command's own first message carries its credentials, which
the kernel translates into the client's pid namespace (how exec learns the host pid).
"""

import array
import ctypes
import fcntl
import json
import os
import signal
import socket
import struct
import sys

import nsutil

SOCKET = "agent.sock"


def _recv(conn, maxfds=3):
    fds = array.array("i")
    msg, anc, _flags, _addr = conn.recvmsg(65536, socket.CMSG_LEN(maxfds * fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    return json.loads(msg.decode()), list(fds)


def _send(conn, obj):
    conn.sendall((json.dumps(obj) + "\n").encode())


def serve(listener, start_w):
    """Agent main loop (never returns)."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped automatically
    os.setsid()
    _set_name(b"rclegacy-agent")
    null = os.open(os.devnull, os.O_RDWR)  # do not hold the monitor's pipes (or the console) open
    for target in (0, 1, 2):
        os.dup2(null, target)
    if null > 2:
        os.close(null)
    try:
        os.chdir("/")
    except OSError:
        pass
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            code = 0
            try:
                _handle(conn, start_w)
            except Exception as exc:  # noqa: BLE001 - report to the client, keep the agent alive
                try:
                    _send(conn, {"error": str(exc)})
                except OSError:
                    pass
                code = 1
            os._exit(code)
        conn.close()


def _handle(conn, start_w):
    req, fds = _recv(conn)
    if req.get("op") == "start":
        if start_w is None:
            raise RuntimeError("container already started")
        os.write(start_w, b"s")
        _send(conn, {"ok": True})
        return
    if req.get("op") != "exec":
        raise RuntimeError("unknown op %r" % req.get("op"))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _exec_child(conn, req, fds, w)
    os.close(w)
    err = os.read(r, 4096)
    os.close(r)
    if err:
        os.waitpid(pid, 0)
        raise RuntimeError(err.decode(errors="replace"))
    _send(conn, {"pid": pid})
    if req.get("detach"):
        return
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    _send(conn, {"exit": code})


def _exec_child(conn, req, fds, errw):
    try:
        os.setsid()
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        os.chdir(req.get("cwd") or "/")
        gid, uid = int(req.get("gid", 0)), int(req.get("uid", 0))
        os.setgroups([int(g) for g in req.get("groups") or []])
        os.setgid(gid)
        os.setuid(uid)
        env = dict(e.split("=", 1) for e in req.get("env") or [] if "=" in e)
        # One message from the command itself: its credentials reach the client as a host pid.
        conn.sendmsg([b'{"started": true}\n'], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS,
                                                 struct.pack("=iII", os.getpid(), os.getuid(), os.getgid()))])
        conn.close()
        os.set_inheritable(errw, False)
        fcntl_cloexec(errw)
        os.execvpe(req["args"][0], req["args"], env)
    except Exception as exc:  # noqa: BLE001
        os.write(errw, ("exec %s: %s" % (req.get("args"), exc)).encode())
    os._exit(127)


def _set_name(name):
    ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name), 0, 0, 0)  # PR_SET_NAME (comm only)


def fcntl_cloexec(fd):
    fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)


def client(path, req, fds=(0, 1, 2)):
    """Connect, send REQ with FDS; return (socket, file for reading JSON lines, host pid or None)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    addr, dirfd = nsutil.unix_path(path)
    try:
        sock.connect(addr)
    finally:
        if dirfd is not None:
            os.close(dirfd)
    sock.sendmsg([json.dumps(req).encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    return sock


def read_reply(sock, buf):
    """Next JSON line from SOCK (BUF is a bytearray carried between calls) and the sender's host pid."""
    host_pid = None
    while b"\n" not in buf:
        data, anc, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("=iII")))
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                host_pid = struct.unpack("=iII", raw[:12])[0]
        if not data:
            return None, host_pid
        buf.extend(data)
    line, _, rest = bytes(buf).partition(b"\n")
    buf[:] = rest
    return json.loads(line.decode()), host_pid


if __name__ == "__main__":
    sys.exit("agent.py is used by rclegacy.py")
