"""Raw Linux syscalls through ctypes (old glibc lacks wrappers for setns/memfd_create).

Imported lazily by the probe child only: ctypes costs a few milliseconds to load.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

NS_FLAGS = {"mnt": CLONE_NEWNS, "uts": CLONE_NEWUTS, "ipc": CLONE_NEWIPC, "net": CLONE_NEWNET,
            "pid": CLONE_NEWPID, "user": CLONE_NEWUSER, "cgroup": CLONE_NEWCGROUP,
            "time": CLONE_NEWTIME}

PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
SECCOMP_MODE_FILTER = 2

_NR = {
    "x86_64": {"clone": 56, "unshare": 272, "setns": 308, "memfd_create": 319, "seccomp": 317,
               "pivot_root": 155, "getdents64": 217},
    "aarch64": {"clone": 220, "unshare": 97, "setns": 268, "memfd_create": 279, "seccomp": 277,
                "pivot_root": 41, "getdents64": 61},
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int
_MACHINE = platform.machine()


def nr(name: str) -> int:
    """Syscall number of NAME on this machine (KeyError when unknown)."""
    return _NR[_MACHINE][name]


def syscall(name: str, *args: int) -> int:
    """Call syscall NAME with integer arguments; raise OSError on failure, return the result."""
    ret = _libc.syscall(ctypes.c_long(nr(name)), *[ctypes.c_ulong(a & 0xFFFFFFFFFFFFFFFF) for a in args])
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(ret)


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """prctl(2); raise OSError on failure."""
    ret = _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                      ctypes.c_ulong(arg4), ctypes.c_ulong(arg5))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(ret)


def prctl_ptr(option: int, ptr: object) -> int:
    """prctl(2) whose second argument is a pointer (ctypes byref/pointer)."""
    ret = _libc.prctl(ctypes.c_int(option), ptr, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(ret)


def unshare(flags: int) -> None:
    syscall("unshare", flags)


def setns(fd: int, nstype: int) -> None:
    syscall("setns", fd, nstype)


def clone_fork(flags: int) -> int:
    """fork-like raw clone(FLAGS|SIGCHLD) without a new stack; returns 0 in the child."""
    import signal
    return syscall("clone", flags | int(signal.SIGCHLD), 0, 0, 0, 0)


def errname(exc: BaseException) -> str:
    """Symbolic errno of an OSError (e.g. 'EINVAL'), or the exception class name."""
    if isinstance(exc, OSError) and exc.errno:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__
