"""Preparing a systemd guest's own layer: machine-id, and units that can never work in a container."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# Units a container can never use: masked up front, and listed in `inspect`.
NEVER_IN_CONTAINER = (
    "systemd-udevd.service", "systemd-udev-trigger.service", "systemd-udev-settle.service",
    "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
    "getty@tty1.service", "getty@tty2.service", "getty@tty3.service", "getty@tty4.service",
    "getty@tty5.service", "getty@tty6.service", "getty-static.service",
    "systemd-remount-fs.service", "sys-kernel-config.mount", "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount", "systemd-modules-load.service", "kmod-static-nodes.service",
    "systemd-hwdb-update.service", "systemd-firstboot.service", "hwclock.service",
    "systemd-timesyncd.service", "proc-sys-fs-binfmt_misc.automount", "systemd-binfmt.service",
    "systemd-pcrphase.service", "systemd-pcrphase-sysinit.service", "systemd-pcrphase-initrd.service",
)


def machine_id(cid: str) -> str:
    return cid[:32]


def prepare_guest(rootfs: Path, cid: str) -> tuple[str, ...]:
    """Write a per-container /etc/machine-id and mask hardware-only units in the container's layer."""
    etc = rootfs / "etc"
    mid = etc / "machine-id"
    with contextlib.suppress(FileNotFoundError):
        if mid.is_symlink():
            mid.unlink()
    mid.write_text(machine_id(cid) + "\n")
    unit_dir = etc / "systemd/system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    masked = []
    for unit in NEVER_IN_CONTAINER:
        link = unit_dir / unit
        if link.exists() and not link.is_symlink():
            continue  # the image ships its own override: respect it
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.symlink("/dev/null", link)
        masked.append(unit)
    return tuple(masked)
