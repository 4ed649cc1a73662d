"""Cgroup reads for lxcfs_py: hierarchy discovery (v1, hybrid, v2) and short-lived file caching.

Every read goes through `read_file`, which keeps a file's content for at most `ttl` seconds
(default 0.05 s, `--cache-ms`). Within that window two readers of the same container get the same
numbers; nothing older is ever served. `ttl = 0` disables the cache.
"""

from __future__ import annotations

import os
import time

CGROUP_ROOT = "/sys/fs/cgroup"


class FileCache:
    """Content of small pseudo files, kept for `ttl` seconds (monotonic clock)."""

    def __init__(self, ttl: float = 0.05, max_entries: int = 4096) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, str | None]] = {}

    def read(self, path: str) -> str | None:
        """Return the text of PATH, or None if it cannot be read."""
        ttl = self.ttl
        if ttl > 0:
            now = time.monotonic()
            hit = self._data.get(path)
            if hit is not None and now - hit[0] < ttl:
                return hit[1]
        text = read_text(path)
        if ttl > 0:
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[path] = (now, text)
        return text


def read_text(path: str) -> str | None:
    """Read a whole (pseudo) file; None on any OS error."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def parse_mountinfo(text: str) -> tuple[dict[str, str], str | None]:
    """Map v1 controller name -> mount dir, plus the cgroup2 mount dir (or None)."""
    v1: dict[str, str] = {}
    v2: str | None = None
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        rfields = right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        fstype, mnt, opts = rfields[0], fields[4], rfields[2]
        if fields[3] != "/":
            continue  # a bind of a sub-cgroup: not a hierarchy root
        if fstype == "cgroup2" and v2 is None:
            v2 = mnt
        elif fstype == "cgroup":
            for opt in opts.split(","):
                if opt in ("rw", "ro") or opt.startswith("release_agent") or opt in (
                        "nosuid", "nodev", "noexec", "relatime", "clone_children",
                        "noprefix", "xattr"):
                    continue
                v1.setdefault(opt, mnt)
    return v1, v2


def parse_proc_cgroup(text: str) -> tuple[dict[str, str], str | None]:
    """Parse /proc/PID/cgroup: v1 controller -> path, and the v2 ('0::') path."""
    v1: dict[str, str] = {}
    v2: str | None = None
    for line in text.splitlines():
        hid, _, rest = line.partition(":")
        ctrls, _, path = rest.partition(":")
        if hid == "0" and ctrls == "":
            v2 = path
            continue
        for c in ctrls.split(","):
            if c:
                v1[c] = path
    return v1, v2


def prune_init_slice(path: str) -> str:
    """Strip a trailing /init.scope (systemd puts PID 1 there; lxcfs does the same)."""
    if path.endswith("/init.scope"):
        path = path[: -len("/init.scope")] or "/"
    return path


class Cgroups:
    """Where each controller lives on this host, and cached reads of its files."""

    def __init__(self, cache: FileCache | None = None, mountinfo: str | None = None) -> None:
        self.cache = cache or FileCache()
        text = mountinfo if mountinfo is not None else (read_text("/proc/self/mountinfo") or "")
        self.v1, self.v2 = parse_mountinfo(text)
        ctl = read_text(os.path.join(self.v2, "cgroup.controllers")) if self.v2 else None
        self.v2_controllers = set((ctl or "").split())
        # cpuacct does not exist on v2; its numbers come from the cpu controller there.
        if "cpu" in self.v2_controllers:
            self.v2_controllers.add("cpuacct")
        if "io" in self.v2_controllers:
            self.v2_controllers.add("blkio")

    def is_v2(self, controller: str) -> bool:
        """True when CONTROLLER is served by the unified hierarchy."""
        return controller not in self.v1 and controller in self.v2_controllers

    def cgroup_of(self, pid: int, controller: str) -> str | None:
        """The cgroup path of PID for CONTROLLER (init.scope pruned), or None."""
        text = self.cache.read(f"/proc/{pid}/cgroup")
        if not text:
            return None
        v1, v2 = parse_proc_cgroup(text)
        if controller in self.v1:
            path = v1.get(controller)
        elif controller in self.v2_controllers:
            path = v2
        else:
            return None
        if path is None:
            return None
        return prune_init_slice(path)

    def dir(self, controller: str, cg: str) -> str | None:
        base = self.v1.get(controller)
        if base is None:
            if controller not in self.v2_controllers:
                return None
            base = self.v2
        return base + cg if cg != "/" else base

    def get(self, controller: str, cg: str, name: str) -> str | None:
        """Read file NAME of cgroup CG in CONTROLLER's hierarchy (cached), None if absent."""
        d = self.dir(controller, cg)
        if d is None:
            return None
        return self.cache.read(f"{d}/{name}")

    def get_int(self, controller: str, cg: str, name: str) -> int | None:
        """An integer file; 'max' (v2 unlimited) and garbage give None."""
        text = self.get(controller, cg, name)
        if text is None:
            return None
        try:
            return int(text.split()[0])
        except (ValueError, IndexError):
            return None

    def host(self, path: str) -> str | None:
        """A host file (e.g. /proc/meminfo) through the same short cache."""
        return self.cache.read(path)


def ancestors(cg: str) -> list[str]:
    """CG and every ancestor up to '/', nearest first."""
    out = [cg]
    while cg not in ("/", ""):
        cg = cg.rsplit("/", 1)[0] or "/"
        out.append(cg)
    return out
