"""A container's writable root: an overlay over the image, or a full copy where overlay fails."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import subprocess
from pathlib import Path

from richcontainer.errors import RuntimeFailure
from richcontainer.util.fs import is_mountpoint

_libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2


def _mount(source: str, target: str, fstype: str, options: str) -> None:
    if _libc.mount(source.encode(), target.encode(), fstype.encode(), 0, options.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), target)


def umount(target: Path, lazy: bool = False) -> None:
    """Unmount TARGET if mounted (EINVAL/ENOENT: it was not)."""
    if _libc.umount2(os.fspath(target).encode(), MNT_DETACH if lazy else 0) != 0:
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.ENOENT):
            return
        if err == errno.EBUSY and not lazy:
            umount(target, lazy=True)
            return
        raise RuntimeFailure(f"cannot unmount {target}: {os.strerror(err)}")


def overlay_supported() -> bool:
    try:
        with open("/proc/filesystems", encoding="ascii") as f:
            return any(line.split()[-1] == "overlay" for line in f if line.strip())
    except OSError:
        return False


def prepare(kind: str, lower: Path, cdir: Path) -> str:
    """Create the container's layer dirs; returns the storage kind actually used."""
    if kind == "overlay" and overlay_supported():
        for d in ("upper", "work", "rootfs"):
            (cdir / d).mkdir(mode=0o755, exist_ok=True)
        try:
            mount_rootfs("overlay", lower, cdir)
            return "overlay"
        except RuntimeFailure:
            for d in ("upper", "work"):
                shutil.rmtree(cdir / d, ignore_errors=True)
    (cdir / "rootfs").mkdir(mode=0o755, exist_ok=True)
    try:
        subprocess.run(["cp", "-a", "--reflink=auto", os.fspath(lower) + "/.", os.fspath(cdir / "rootfs")],
                       check=True, timeout=1800, capture_output=True)
    except subprocess.CalledProcessError as e:
        raise RuntimeFailure(f"cannot copy the image into the container: {e.stderr.decode().strip()}") from None
    return "copy"


def mount_rootfs(kind: str, lower: Path, cdir: Path) -> Path:
    """Make sure the container's merged rootfs is mounted (idempotent)."""
    rootfs = cdir / "rootfs"
    if kind != "overlay" or is_mountpoint(rootfs):
        return rootfs
    opts = f"lowerdir={lower},upperdir={cdir / 'upper'},workdir={cdir / 'work'}"
    try:
        _mount("overlay", os.fspath(rootfs), "overlay", opts)
    except OSError as e:
        raise RuntimeFailure(f"cannot mount the container's overlay: {e.strerror}") from None
    return rootfs


def unmount_rootfs(kind: str, cdir: Path) -> None:
    if kind == "overlay":
        umount(cdir / "rootfs")
