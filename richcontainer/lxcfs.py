"""The lxcfs_py seam: keep the daemon running and bind its files into containers."""

from __future__ import annotations

import os
import sys

from richcontainer.paths import StorePaths

MOUNTPOINT = os.environ.get("RICHCONTAINER_LXCFS_MOUNT", "/var/lib/lxcfs")


def container_mounts() -> list[dict]:
    from lxcfs_py.attach import container_mounts as mounts

    return mounts(MOUNTPOINT)


def state_dir(paths: StorePaths) -> str:
    return os.fspath(paths.run / "lxcfs")


def ensure_lxcfs(paths: StorePaths) -> int:
    """Start the supervised lxcfs_py daemon unless it already serves MOUNTPOINT."""
    from lxcfs_py.supervise import ensure_running

    return ensure_running(MOUNTPOINT, state_dir(paths), on_restart=reattach_argv())


def reattach_argv() -> list[str]:
    """What the supervisor runs after restarting the daemon (store root passed through the env)."""
    return [sys.executable, "-m", "richcontainer", "lxcfs", "reattach"]
