"""The lxcfs_py seam: keep the daemon running and bind its files into containers.

One daemon serves one mount point for the whole host (any number of stores); its supervisor
restarts it after a crash and re-binds the files into every container namespace that had them.
"""

from __future__ import annotations

import hashlib
import os


def mountpoint() -> str:
    return os.environ.get("RICHCONTAINER_LXCFS_MOUNT", "/var/lib/lxcfs")


def state_dir() -> str:
    mnt = os.path.abspath(mountpoint())
    return f"/run/richcontainer-lxcfs/{hashlib.sha256(mnt.encode()).hexdigest()[:12]}"


def host_supports() -> str | None:
    """None if this kernel has what lxcfs_py needs, else why not: FUSE, pidfd_open (5.3; a reused
    pid is never trusted) and open_tree/move_mount (5.2; re-attaching after a daemon restart)."""
    import ctypes
    import errno

    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing"
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError as e:
        if e.errno == errno.ENOSYS:
            return "pidfd_open is missing (Linux 5.3)"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(428, -1, None, 0) == -1 and ctypes.get_errno() == errno.ENOSYS:  # open_tree
        return "open_tree/move_mount are missing (Linux 5.2)"
    return None


def container_mounts() -> list[dict]:
    from lxcfs_py.attach import container_mounts as mounts

    return mounts(mountpoint())


def foreign_lxcfs() -> bool:
    """True if Debian's lxcfs (or another daemon than ours) already serves the mount point:
    its files have the same layout, so containers use them and we start nothing."""
    mnt = os.path.abspath(mountpoint())
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            for line in f:
                fields = line.split()
                if fields[4] == mnt:
                    fstype = fields[fields.index("-") + 1]
                    return fstype.startswith("fuse") and fstype != "fuse.lxcfs_py"
    except (OSError, ValueError, IndexError):
        pass
    return False


def ensure_lxcfs() -> int:
    """Start the supervised lxcfs_py daemon unless it (or another lxcfs) serves the mount point."""
    from lxcfs_py.supervise import ensure_running

    from richcontainer.errors import RuntimeFailure

    if foreign_lxcfs():
        return 0
    try:
        return ensure_running(mountpoint(), state_dir())
    except RuntimeError as e:
        raise RuntimeFailure(f"lxcfs_py: {e}", hint="or run with --no-lxcfs") from None
