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


def container_mounts() -> list[dict]:
    from lxcfs_py.attach import container_mounts as mounts

    return mounts(mountpoint())


def ensure_lxcfs() -> int:
    """Start the supervised lxcfs_py daemon unless it already serves the mount point."""
    from lxcfs_py.supervise import ensure_running

    return ensure_running(mountpoint(), state_dir())
