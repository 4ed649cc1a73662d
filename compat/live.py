"""Live probes: try the syscalls in a forked child so namespaces and mounts die with it.

`run_live_probes(workdir)` returns {feature key: (found, detail)}. The child reports each result
on a pipe as it goes, so a crash or a hang (killed after the timeout) still leaves the others.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time

Result = dict[str, tuple[bool | None, str]]

MS_REC = 0x4000
MS_PRIVATE = 1 << 18
DONE = b"[\"done\", null, \"\"]\n"


def run_live_probes(workdir: str, timeout: float = 3.0) -> Result:
    """Fork a child that tries each syscall; WORKDIR is an empty scratch dir on the storage fs."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(r)
            _child(w, workdir)
        except BaseException:  # noqa: BLE001 - report nothing more, parent keeps what it got
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                break
            data = os.read(r, 65536)
            if not data:
                break
            chunks.append(data)
            if data.endswith(DONE):
                break
    finally:
        os.close(r)
        _reap(pid)
    out: Result = {}
    for line in b"".join(chunks).decode().splitlines():
        try:
            key, found, detail = json.loads(line)
        except ValueError:
            continue
        if key != "done":
            out[key] = (found, detail)
    return out


def _reap(pid: int) -> None:
    """Reap the child; tearing down its network namespace can take ~50 ms, so do it in the background."""
    if os.waitpid(pid, os.WNOHANG)[0] == 0:
        import threading
        threading.Thread(target=os.waitpid, args=(pid, 0), daemon=True).start()


def _child(w: int, workdir: str) -> None:
    from compat import syscalls as sc

    def emit(key: str, found: bool | None, detail: str = "") -> None:
        os.write(w, (json.dumps([key, found, detail]) + "\n").encode())

    def attempt(key: str, fn, ok_detail: str = "") -> bool:  # type: ignore[no-untyped-def]
        try:
            fn()
        except OSError as exc:
            emit(key, False, sc.errname(exc))
            return False
        emit(key, True, ok_detail)
        return True

    # setns into our own namespaces: works wherever setns supports the type.
    for ns, flag in sc.NS_FLAGS.items():
        if ns == "user":
            continue  # joining one's own user ns is always EINVAL; inferred below
        path = f"/proc/self/ns/{ns}"
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            emit(f"ns.{ns}.setns", False, "open " + sc.errname(exc))
            continue
        try:
            attempt(f"ns.{ns}.setns", lambda: sc.setns(fd, flag))
        finally:
            os.close(fd)

    _simple_syscalls(emit, attempt, sc, workdir)
    from compat.probe import vdso_kernel
    emit("kernel.vdso", None, vdso_kernel())

    # clone(CLONE_NEWPID): what the legacy backend relies on.
    def clone_pid() -> None:
        child = sc.clone_fork(sc.CLONE_NEWPID)
        if child == 0:
            os._exit(0 if os.getpid() == 1 else 1)
        _, status = os.waitpid(child, 0)
        if status != 0:
            raise OSError(0, "child was not pid 1")
    attempt("ns.pid.clone", clone_pid)

    for ns in ("uts", "ipc", "cgroup", "time", "pid", "mnt", "net"):
        done = attempt(f"ns.{ns}.unshare", lambda: sc.unshare(sc.NS_FLAGS[ns]))
        if done and ns == "mnt":
            _mount_probes(emit, attempt, workdir)
        if done and ns == "net":
            _net_probes(emit)
    attempt("ns.user.unshare", lambda: sc.unshare(sc.CLONE_NEWUSER))
    os.write(w, DONE)


def _simple_syscalls(emit, attempt, sc, workdir: str) -> None:  # type: ignore[no-untyped-def]
    import ctypes

    def memfd() -> None:
        os.close(sc.syscall("memfd_create", ctypes.addressof(ctypes.create_string_buffer(b"rcprobe")), 1))
    attempt("sys.memfd_create", memfd)

    def tmpfile() -> None:
        os.close(os.open(workdir, os.O_TMPFILE | os.O_RDWR, 0o600))
    attempt("sys.o_tmpfile", tmpfile)

    attempt("sec.no_new_privs", lambda: sc.prctl(sc.PR_GET_NO_NEW_PRIVS))
    val = ctypes.c_int(0)
    attempt("sys.child_subreaper", lambda: sc.prctl_ptr(sc.PR_GET_CHILD_SUBREAPER, ctypes.byref(val)))

    # A NULL filter: EFAULT means the kernel understands SECCOMP_MODE_FILTER, EINVAL that it does not.
    try:
        sc.prctl(sc.PR_SET_SECCOMP, sc.SECCOMP_MODE_FILTER, 0)
        emit("sec.seccomp_filter", True, "")
    except OSError as exc:
        name = sc.errname(exc)
        emit("sec.seccomp_filter", True if name == "EFAULT" else (None if name == "EACCES" else False), name)
    try:
        sc.syscall("seccomp", 0xFF, 0, 0)
        emit("sec.seccomp_syscall", True, "")
    except OSError as exc:
        name = sc.errname(exc)
        emit("sec.seccomp_syscall", name != "ENOSYS", name)

    emit("fs.d_type", *_d_type(sc, workdir))


def _d_type(sc, workdir: str) -> tuple[bool | None, str]:  # type: ignore[no-untyped-def]
    """Read the scratch dir with getdents64 and look at d_type (xfs ftype=0 reports DT_UNKNOWN)."""
    import ctypes
    import struct
    sub = os.path.join(workdir, "dtype")
    os.mkdir(sub)
    os.mkdir(os.path.join(sub, "d"))
    fd = os.open(sub, os.O_RDONLY | os.O_DIRECTORY)
    try:
        buf = ctypes.create_string_buffer(4096)
        n = sc.syscall("getdents64", fd, ctypes.addressof(buf), 4096)
        data = buf.raw[:n]
    finally:
        os.close(fd)
    off = 0
    while off < n:
        _ino, _off, reclen, dtype = struct.unpack_from("=QqHB", data, off)
        name = data[off + 19:off + reclen].split(b"\0", 1)[0]
        if name == b"d":
            return (dtype == 4, "DT_DIR" if dtype == 4 else f"d_type={dtype}")
        off += reclen
    return (None, "entry not found")


def _mount_probes(emit, attempt, workdir: str) -> None:  # type: ignore[no-untyped-def]
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(src: str, dst: str, fstype: str | None, flags: int, data: str | None) -> None:
        ret = libc.mount(src.encode(), dst.encode(), fstype.encode() if fstype else None,
                         ctypes.c_ulong(flags), data.encode() if data else None)
        if ret != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    try:
        mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    except OSError:
        emit("fs.devpts_newinstance", None, "cannot make / private")
        return
    pts = os.path.join(workdir, "pts")
    os.mkdir(pts)
    attempt("fs.devpts_newinstance", lambda: mount("devpts", pts, "devpts", 0, "newinstance,ptmxmode=0666"))
    dirs = {n: os.path.join(workdir, n) for n in ("lower", "upper", "work", "merged")}
    for d in dirs.values():
        os.mkdir(d)
    opts = "lowerdir={lower},upperdir={upper},workdir={work}".format(**dirs)
    attempt("fs.overlay", lambda: mount("overlay", dirs["merged"], "overlay", 0, opts))


def _net_probes(emit) -> None:  # type: ignore[no-untyped-def]
    import errno
    import fcntl
    import socket
    import struct

    def newlink(name: str, kind: str) -> int:
        def attr(kind_: int, payload: bytes) -> bytes:
            raw = struct.pack("=HH", 4 + len(payload), kind_) + payload
            return raw + b"\0" * ((4 - len(raw) % 4) % 4)
        body = struct.pack("=BxHiII", 0, 0, 0, 0, 0)
        body += attr(3, name.encode() + b"\0")  # IFLA_IFNAME
        body += attr(18, attr(1, kind.encode() + b"\0"))  # IFLA_LINKINFO { IFLA_INFO_KIND }
        msg = struct.pack("=IHHII", 16 + len(body), 16, 0x1 | 0x4 | 0x400 | 0x200, 1, 0) + body
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as s:  # NETLINK_ROUTE
            s.settimeout(1.0)
            s.send(msg)
            reply = s.recv(65536)
        _len, mtype = struct.unpack_from("=IH", reply, 0)
        return -struct.unpack_from("=i", reply, 16)[0] if mtype == 2 else 0

    for key, name, kind in (("net.veth_netlink", "rcprobe0", "veth"), ("net.bridge_netlink", "rcprobe1", "bridge")):
        try:
            err = newlink(name, kind)
        except OSError as exc:
            emit(key, None, str(exc.errno))
            continue
        emit(key, err == 0, errno.errorcode.get(err, str(err)) if err else "")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            fcntl.ioctl(s.fileno(), 0x89A0, b"rcprobe2\0")  # SIOCBRADDBR
        emit("net.bridge_ioctl", True, "")
    except OSError as exc:
        emit("net.bridge_ioctl", False, errno.errorcode.get(exc.errno or 0, str(exc.errno)))
