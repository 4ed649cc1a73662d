"""Whose view a read gets: the init process of the caller's pid namespace.

lxcfs forks, setns()es into the caller's pid namespace and asks the kernel to translate pid 1 with
SCM_CREDENTIALS. We avoid the fork: walk the caller's parent chain (cheap, usually 1-3 steps) until
the task whose innermost NSpid is 1; if the chain leaves the namespace first (a process that joined
with setns, e.g. `runc exec`), scan /proc for the namespace's init. The answer is cached per
pid-namespace inode and held by a pidfd, so a reused pid is never trusted: a dead init makes
pidfd_send_signal fail and the entry is recomputed.
"""

from __future__ import annotations

import os
import signal
import time

from .cgroup import read_text


def pidns_inode(pid: int) -> int | None:
    """Inode of PID's pid namespace, None if PID is gone (or a zombie)."""
    try:
        return os.stat(f"/proc/{pid}/ns/pid").st_ino
    except OSError:
        return None


def _status_fields(pid: int) -> tuple[int, list[int]] | None:
    """(PPid, NSpid list) of PID from /proc/PID/status."""
    text = read_text(f"/proc/{pid}/status")
    if not text:
        return None
    ppid = -1
    nspid: list[int] = []
    for line in text.splitlines():
        if line.startswith("PPid:"):
            ppid = int(line.split()[1])
        elif line.startswith("NSpid:"):
            nspid = [int(x) for x in line.split()[1:]]
            break
    return ppid, nspid


def start_time(pid: int) -> int | None:
    """Start time of PID in clock ticks since boot (/proc/PID/stat field 22)."""
    text = read_text(f"/proc/{pid}/stat")
    if not text:
        return None
    try:
        return int(text[text.rindex(")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


def find_init(pid: int, ns: int) -> int | None:
    """Host pid of the init of pid namespace NS, which PID belongs to; None if it is gone."""
    cur = pid
    for _ in range(64):
        f = _status_fields(cur)
        if f is None or not f[1]:
            break
        ppid, nspid = f
        if nspid[-1] == 1:
            return cur if pidns_inode(cur) == ns else None
        if ppid <= 0 or pidns_inode(ppid) != ns:
            break
        cur = ppid
    # Slow path: scan every process for this namespace's pid 1.
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        p = int(name)
        if pidns_inode(p) != ns:
            continue
        f = _status_fields(p)
        if f and f[1] and f[1][-1] == 1:
            return p
    return None


class _Entry:
    __slots__ = ("init", "pidfd", "used")

    def __init__(self, init: int, pidfd: int) -> None:
        self.init = init
        self.pidfd = pidfd
        self.used = time.monotonic()


class InitResolver:
    """Caches pid-namespace inode -> init pid, validated by a pidfd on every hit."""

    def __init__(self, max_entries: int = 10000) -> None:
        self._cache: dict[int, _Entry] = {}
        self._own_ns = pidns_inode(os.getpid())
        self.max_entries = max_entries
        self._last_prune = time.monotonic()

    def init_of(self, pid: int) -> tuple[int, bool]:
        """(init pid, shared) for caller PID. shared=True when the caller is in our own pid
        namespace (then lxcfs judges it by its own cgroup); init is 0 when unknown."""
        ns = pidns_inode(pid)
        if ns is None:
            return 0, False
        if ns == self._own_ns:
            return 1, True
        e = self._cache.get(ns)
        if e is not None:
            try:
                signal.pidfd_send_signal(e.pidfd, 0)
                e.used = time.monotonic()
                return e.init, False
            except OSError:
                self._drop(ns)
        init = find_init(pid, ns)
        if init is None:
            return 0, False
        try:
            fd = os.pidfd_open(init)
        except OSError:
            return 0, False
        # The pid may have been reused between find_init and pidfd_open: re-check the namespace.
        if pidns_inode(init) != ns:
            os.close(fd)
            return 0, False
        self._cache[ns] = _Entry(init, fd)
        self._maybe_prune()
        return init, False

    def _drop(self, ns: int) -> None:
        e = self._cache.pop(ns, None)
        if e is not None:
            os.close(e.pidfd)

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if len(self._cache) < self.max_entries and now - self._last_prune < 60:
            return
        self._last_prune = now
        for ns, e in list(self._cache.items()):
            if now - e.used > 600 or len(self._cache) >= self.max_entries:
                self._drop(ns)

    def view_pid(self, pid: int) -> int:
        """The pid whose cgroups decide what PID sees (lxcfs: init, or the caller itself
        when it shares our pid namespace or its init cannot be found)."""
        init, shared = self.init_of(pid)
        if shared or init <= 1:
            return pid
        return init
