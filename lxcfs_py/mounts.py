"""Mount syscalls via ctypes (umount2, setns, open_tree, move_mount) and mountinfo helpers."""

from __future__ import annotations

import ctypes
import errno
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

MNT_DETACH = 2
CLONE_NEWNS = 0x00020000
AT_FDCWD = -100
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = 0o2000000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x00000004
# Since Linux 5.2 these numbers are the same on every architecture (asm-generic unified table).
NR_OPEN_TREE = 428
NR_MOVE_MOUNT = 429

FSTYPE = "fuse.lxcfs_py"


def fsname_for(mountpoint: str) -> str:
    """The mount source a daemon on MOUNTPOINT uses. Bind mounts keep it, so a container's
    files tell which daemon they came from, also after that daemon died."""
    import hashlib

    return "lxcfs_py-" + hashlib.sha256(os.path.realpath(mountpoint).encode()).hexdigest()[:12]


def _check(ret: int, what: str) -> int:
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")
    return ret


def umount_lazy(path: str) -> None:
    """umount2(PATH, MNT_DETACH)."""
    _check(_libc.umount2(os.fsencode(path), MNT_DETACH), f"umount {path}")


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def open_tree_clone(path: str) -> int:
    """A detached copy of the mount at PATH (a file or dir), as an fd for move_mount."""
    return _check(_libc.syscall(NR_OPEN_TREE, AT_FDCWD, os.fsencode(path),
                                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC), f"open_tree {path}")


NR_MOUNT_SETATTR = 442
AT_EMPTY_PATH = 0x1000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC = 0x1, 0x2, 0x4, 0x8


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def make_readonly(fd: int) -> bool:
    """ro,nosuid,nodev,noexec on the detached mount FD, as a runtime's bind gets them; False where
    the kernel lacks mount_setattr (Linux 5.12): the files stay read-only by their mode."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, 0, 0)
    ret = _libc.syscall(NR_MOUNT_SETATTR, fd, b"", AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr))
    if ret < 0:
        if ctypes.get_errno() == errno.ENOSYS:
            return False
        _check(ret, "mount_setattr")
    return True


def move_mount_fd(fd: int, target: str) -> None:
    """Attach the detached mount FD at TARGET (in the caller's mount namespace)."""
    _check(_libc.syscall(NR_MOVE_MOUNT, fd, b"", AT_FDCWD, os.fsencode(target),
                         MOVE_MOUNT_F_EMPTY_PATH), f"move_mount {target}")


def mountinfo(pid: int | str = "self") -> list[tuple[str, str, str]]:
    """(mount point, fstype, source) for every mount seen by PID, in mount order."""
    try:
        with open(f"/proc/{pid}/mountinfo", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, r = left.split(), right.split()
        if len(fields) >= 5 and len(r) >= 2:
            out.append((_unescape(fields[4]), r[0], r[1]))
    return out


def _unescape(s: str) -> str:
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def is_lxcfs_mounted(mountpoint: str, pid: int | str = "self") -> bool:
    """True if an lxcfs_py FUSE mount sits at MOUNTPOINT (alive or stale)."""
    mnt = os.path.realpath(mountpoint)
    return any(m == mnt and t == FSTYPE for m, t, _ in mountinfo(pid))


def is_healthy(mountpoint: str) -> bool:
    """True if MOUNTPOINT is an lxcfs_py mount whose daemon answers."""
    if not is_lxcfs_mounted(mountpoint):
        return False
    try:
        os.stat(os.path.join(mountpoint, "proc/meminfo"))
        return True
    except OSError:
        return False


def is_stale(mountpoint: str) -> bool:
    """True if MOUNTPOINT is a dead FUSE mount ('Transport endpoint is not connected')."""
    try:
        os.stat(mountpoint)
        os.stat(os.path.join(mountpoint, "proc"))
        return False
    except OSError as e:
        return e.errno in (errno.ENOTCONN, errno.ECONNABORTED)


def cleanup_mount(mountpoint: str) -> bool:
    """Lazily unmount every (stale or live) lxcfs_py mount stacked at MOUNTPOINT."""
    done = False
    for _ in range(16):
        if not is_lxcfs_mounted(mountpoint) and not is_stale(mountpoint):
            break
        try:
            umount_lazy(mountpoint)
            done = True
        except OSError:
            break
    return done
