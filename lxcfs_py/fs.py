"""FUSE operations: the lxcfs tree (proc/*, sys/devices/system/cpu/*) routed to ProcView.

Read protocol as in lxcfs: a read at offset 0 renders the whole file into the open file's buffer
and returns the head; reads at offset > 0 slice that buffer (0 if nothing was rendered, EINVAL past
the end). Files are opened with direct_io, so the kernel never caches their content. getattr
reports the host file's size, like lxcfs.
"""

from __future__ import annotations

import errno
import os
import stat as st
import time

os.environ.setdefault("FUSE_LIBRARY_NAME", "fuse3")   # mfusepy would pick libfuse2 first
import mfusepy  # noqa: E402

from .procview import HOST_FILES, ProcView

PROC_FILES = ("cpuinfo", "meminfo", "stat", "uptime", "diskstats", "swaps", "loadavg")
SYS_CPU = "/sys/devices/system/cpu"
_DIRS = {"/": 0o755, "/proc": 0o555, "/sys": 0o555, "/sys/devices": 0o555,
         "/sys/devices/system": 0o555}
_LISTING = {"/": ["proc", "sys"], "/proc": list(PROC_FILES), "/sys": ["devices"],
            "/sys/devices": ["system"], "/sys/devices/system": ["cpu"]}
_VIRTUAL = {f"/proc/{n}": n for n in PROC_FILES}
_VIRTUAL[SYS_CPU + "/online"] = "online"


def _enoent() -> mfusepy.FuseOSError:
    return mfusepy.FuseOSError(errno.ENOENT)


class _Handle:
    __slots__ = ("name", "data", "host")

    def __init__(self, name: str | None, host: str | None = None) -> None:
        self.name = name
        self.data: bytes | None = None
        self.host = host


class LxcfsOps(mfusepy.Operations):
    """mfusepy high-level operations (raw_fi=True, single-threaded loop)."""

    use_ns = True

    def __init__(self, view: ProcView) -> None:
        self.view = view
        self.handles: dict[int, _Handle] = {}
        self._next = 1
        self.mounted = False
        self.on_ready = None

    def init(self, path: str) -> None:
        self.mounted = True
        if self.on_ready is not None:
            self.on_ready()   # runs after libfuse daemonized: getpid() is the serving pid

    # ---- metadata
    def getattr(self, path: str, fh=None) -> dict:
        now = time.time_ns()
        base = {"st_uid": 0, "st_gid": 0, "st_atime": now, "st_mtime": now, "st_ctime": now}
        mode = _DIRS.get(path)
        if mode is not None:
            base.update(st_mode=st.S_IFDIR | mode, st_nlink=2)
            return base
        name = _VIRTUAL.get(path)
        if name is not None:
            if name == "online":
                size = len(self._render(name).encode())
            else:
                size = len((self.view.cg.host(HOST_FILES[name]) or "").encode())
            base.update(st_mode=st.S_IFREG | 0o444, st_nlink=1, st_size=size)
            return base
        if path == SYS_CPU or path.startswith(SYS_CPU + "/"):
            try:
                s = os.lstat(path)
            except OSError as e:
                raise mfusepy.FuseOSError(e.errno or errno.ENOENT) from None
            base.update(st_mode=s.st_mode, st_nlink=s.st_nlink, st_size=s.st_size)
            return base
        raise _enoent()

    def readdir(self, path: str, fh) -> list[str]:
        names = _LISTING.get(path)
        if names is None:
            if path == SYS_CPU or path.startswith(SYS_CPU + "/"):
                try:
                    names = sorted(os.listdir(path))
                except OSError as e:
                    raise mfusepy.FuseOSError(e.errno or errno.ENOENT) from None
            else:
                raise _enoent()
        return [".", "..", *names]

    def readlink(self, path: str) -> str:
        if path.startswith(SYS_CPU + "/"):
            try:
                return os.readlink(path)
            except OSError as e:
                raise mfusepy.FuseOSError(e.errno or errno.EINVAL) from None
        raise _enoent()

    # ---- data
    def open(self, path: str, fi) -> int:
        if (fi.flags & os.O_ACCMODE) != os.O_RDONLY:
            raise mfusepy.FuseOSError(errno.EACCES)
        name = _VIRTUAL.get(path)
        if name is not None:
            h = _Handle(name)
        elif path.startswith(SYS_CPU + "/") and os.path.isfile(path):
            h = _Handle(None, host=path)
        else:
            raise _enoent()
        fh = self._next
        self._next += 1
        self.handles[fh] = h
        fi.fh = fh
        fi.direct_io = 1
        return 0

    def read(self, path: str, size: int, offset: int, fi) -> bytes:
        h = self.handles.get(fi.fh)
        if h is None:
            raise mfusepy.FuseOSError(errno.EBADF)
        if h.host is not None:
            return _pread_host(h.host, size, offset)
        if offset == 0:
            h.data = self._render(h.name).encode()
            return h.data[:size]
        if h.data is None:
            return b""
        if offset > len(h.data):
            raise mfusepy.FuseOSError(errno.EINVAL)
        return h.data[offset:offset + size]

    def release(self, path: str, fi) -> int:
        self.handles.pop(fi.fh, None)
        return 0

    def _render(self, name: str) -> str:
        pid = mfusepy.fuse_get_context()[2]
        return self.view.render(name, pid)


def _pread_host(path: str, size: int, offset: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise mfusepy.FuseOSError(e.errno or errno.EIO) from None
    try:
        return os.pread(fd, size, offset)
    except OSError as e:
        raise mfusepy.FuseOSError(e.errno or errno.EIO) from None
    finally:
        os.close(fd)


def mount(mountpoint: str, view: ProcView, foreground: bool = True, debug: bool = False,
          on_ready=None) -> None:
    """Mount and serve until unmounted or signalled (single-threaded libfuse loop: the GIL
    makes the multithreaded loop ~35% slower, see research notes). RuntimeError when the
    mount never came up."""
    ops = LxcfsOps(view)
    ops.on_ready = on_ready
    try:
        _serve(ops, mountpoint, foreground, debug)
    except RuntimeError:
        if not ops.mounted:
            raise


def _serve(ops: LxcfsOps, mountpoint: str, foreground: bool, debug: bool) -> None:
    from .mounts import fsname_for

    mfusepy.FUSE(ops, mountpoint, raw_fi=True, foreground=foreground,
                 nothreads=True, debug=debug, allow_other=True, fsname=fsname_for(mountpoint),
                 subtype="lxcfs_py", entry_timeout=0.5, attr_timeout=0.5)
