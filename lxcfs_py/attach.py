"""Binding the lxcfs files into containers, and re-attaching them after a daemon restart.

Design (why open_tree/move_mount, not shared propagation + nsenter): after the FUSE daemon dies,
every bind of its files is tied to the dead connection and must be replaced inside each
container's mount namespace (lxcfs#73, #193). We take a detached clone of each fresh file with
open_tree(OPEN_TREE_CLONE) in the host namespace, fork, setns() the child into the container's
mount namespace, detach the dead bind and move_mount() the clone in its place (the lxcfs#583
approach). This needs no hidden directory or mount propagation set up at container creation, no
binary inside the container (busybox or distroless alike), and works for containers started
before lxcfs_py existed. Needs Linux >= 5.2.
"""

from __future__ import annotations

import os
import sys

from . import mounts

# container path -> path under the lxcfs mount
FILES = {
    "/proc/cpuinfo": "proc/cpuinfo", "/proc/meminfo": "proc/meminfo", "/proc/stat": "proc/stat",
    "/proc/uptime": "proc/uptime", "/proc/loadavg": "proc/loadavg",
    "/proc/diskstats": "proc/diskstats", "/proc/swaps": "proc/swaps",
    "/sys/devices/system/cpu/online": "sys/devices/system/cpu/online",
}


def container_mounts(mountpoint: str) -> list[dict]:
    """OCI mount entries binding the lxcfs files (those that exist under MOUNTPOINT) over the
    container's /proc and /sys files. No hidden directory is needed (see module doc)."""
    out = []
    for dest, rel in FILES.items():
        src = os.path.join(mountpoint, rel)
        if os.path.exists(src):
            out.append({"destination": dest, "type": "bind", "source": src,
                        "options": ["bind", "ro", "nosuid", "nodev", "noexec"]})
    return out


def _lxcfs_depth(pid: int) -> dict[str, int]:
    """How many FUSE mounts are stacked on each target in PID's mount namespace."""
    depth: dict[str, int] = {}
    for mnt, fstype, _src in mounts.mountinfo(pid):
        if mnt in FILES and fstype.startswith("fuse"):
            depth[mnt] = depth.get(mnt, 0) + 1
    return depth


def reattach(pid: int, mountpoint: str) -> None:
    """Re-bind the lxcfs files inside the mount namespace of PID (a container's init).
    Idempotent: FUSE binds already on a target are detached first, so they never stack.
    Raises OSError when the mount is not healthy or the container is gone."""
    fds: dict[str, int] = {}
    try:
        for dest, rel in FILES.items():
            src = os.path.join(mountpoint, rel)
            if os.path.exists(src):
                fds[dest] = mounts.open_tree_clone(src)
                mounts.make_readonly(fds[dest])
        if not fds:
            raise OSError(2, f"no lxcfs files under {mountpoint}")
        depth = _lxcfs_depth(pid)
        nsfd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _in_child(nsfd, fds, depth)
        finally:
            os.close(nsfd)
    finally:
        for fd in fds.values():
            os.close(fd)


def _in_child(nsfd: int, fds: dict[str, int], depth: dict[str, int]) -> None:
    """Fork (setns of a mount namespace needs a single-threaded process) and do the swap."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(r)
        code = 0
        msg = b""
        try:
            mounts.setns(nsfd, mounts.CLONE_NEWNS)
            os.chdir("/")
            for dest, fd in fds.items():
                if not os.path.exists(dest) and dest not in depth:
                    continue   # e.g. no /sys in this container
                for _ in range(depth.get(dest, 0)):
                    try:
                        mounts.umount_lazy(dest)
                    except OSError:
                        break
                mounts.move_mount_fd(fd, dest)
        except BaseException as e:  # noqa: BLE001 - report anything to the parent
            code = 1
            msg = str(e).encode()[:1000]
        try:
            os.write(w, msg)
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        msg = f.read()
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise OSError(5, f"reattach failed: {msg.decode(errors='replace') or 'child died'}")


def containers_with_lxcfs(mountpoint: str | None = None) -> list[int]:
    """One pid per foreign mount namespace that has lxcfs_py files bound on the FILES targets
    (only files of the daemon on MOUNTPOINT, live or dead, if given)."""
    source = mounts.fsname_for(mountpoint) if mountpoint else None
    own = os.stat("/proc/self/ns/mnt").st_ino
    seen: set[int] = {own}
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ino = os.stat(f"/proc/{name}/ns/mnt").st_ino
        except OSError:
            continue
        if ino in seen:
            continue
        seen.add(ino)
        if any(m in FILES and t == mounts.FSTYPE and source in (None, src) for m, t, src in mounts.mountinfo(name)):
            out.append(int(name))
    return out


def reattach_all(mountpoint: str) -> dict[int, str]:
    """Reattach in every mount namespace that uses files of the daemon on MOUNTPOINT; {pid: error}
    of failures."""
    errors = {}
    for pid in containers_with_lxcfs(mountpoint):
        try:
            reattach(pid, mountpoint)
        except OSError as e:
            errors[pid] = str(e)
    return errors


def reattach_main(argv: list[str]) -> int:
    """`python -m lxcfs_py reattach [--pid PID]... MOUNT` (all lxcfs_py users without --pid)."""
    import argparse
    p = argparse.ArgumentParser(prog="lxcfs-py reattach")
    p.add_argument("--pid", type=int, action="append", default=[])
    p.add_argument("mountpoint", nargs="?", default="/var/lib/lxcfs")
    a = p.parse_args(argv)
    if not mounts.is_healthy(a.mountpoint):
        print(f"lxcfs-py reattach: {a.mountpoint} is not a live lxcfs_py mount", file=sys.stderr)
        return 1
    if a.pid:
        errors = {}
        for pid in a.pid:
            try:
                reattach(pid, a.mountpoint)
            except OSError as e:
                errors[pid] = str(e)
    else:
        errors = reattach_all(a.mountpoint)
    for pid, err in errors.items():
        print(f"lxcfs-py reattach: pid {pid}: {err}", file=sys.stderr)
    return 1 if errors else 0
