"""A fresh boot ID for every start of a system container, as LXC gives its guests.

The kernel has one /proc/sys/kernel/random/boot_id per host, so without this every start of a
container is the same "boot" to systemd: `journalctl -b -1` and `--list-boots` cannot tell one
run from the next. runc refuses mounts inside /proc, so a createContainer hook (run in the
container's mount namespace after runc's mounts, before pivot_root) binds a per-container file
over it with mount(8); /proc/sys's read-only remount then covers it too.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from richcontainer.util.fs import atomic_write

IN_PROC = "proc/sys/kernel/random/boot_id"


def boot_id_file(cdir: Path) -> Path:
    return cdir / "boot_id"


def boot_id_hook(cdir: Path, rootfs: Path) -> dict | None:
    """The createContainer hook that mounts the container's boot ID; None without mount(8)."""
    mount = shutil.which("mount", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if mount is None:
        return None
    return {"path": mount, "args": ["mount", "--bind", "-o", "ro,nosuid,nodev,noexec",
                                    str(boot_id_file(cdir)), str(rootfs / IN_PROC)], "timeout": 10}


def new_boot_id(cdir: Path) -> str:
    """Write a fresh boot ID for the next start (the hook mounts whatever the file holds then)."""
    value = str(uuid.uuid4())
    atomic_write(boot_id_file(cdir), value + "\n", 0o644, durable=False)
    return value
