"""Gather the inputs for each virtual file from the caller's cgroups and render it.

Each `render_*` takes the caller's pid (as fuse_get_context reports it) and returns the file's
text. On any cgroup error the host file is served, as lxcfs does.
"""

from __future__ import annotations

import os
import time

from . import views
from .caller import InitResolver, start_time
from .cgroup import Cgroups, ancestors, read_text
from .loadavg import LoadTracker

TICKS = os.sysconf("SC_CLK_TCK")
NPROCS = os.cpu_count() or 1

HOST_FILES = {
    "meminfo": "/proc/meminfo", "cpuinfo": "/proc/cpuinfo", "stat": "/proc/stat",
    "uptime": "/proc/uptime", "loadavg": "/proc/loadavg", "diskstats": "/proc/diskstats",
    "swaps": "/proc/swaps", "online": "/sys/devices/system/cpu/online",
}


class ProcView:
    """Renders the lxcfs files for a caller. Options mirror lxcfs's flags."""

    def __init__(self, cgroups: Cgroups | None = None, resolver: InitResolver | None = None,
                 use_cfs: bool = True, swap: bool = True, loadavg: bool = True) -> None:
        self.cg = cgroups or Cgroups()
        self.resolver = resolver or InitResolver()
        self.use_cfs = use_cfs
        self.swap = swap and self._swap_accounting()
        self.loadavg = LoadTracker(self.cg) if loadavg else None
        # Rendered text per (file, view pid), kept no longer than the file cache's ttl: within
        # that window the inputs would be the same cached reads anyway.
        self._rendered: dict[tuple[str, int], tuple[float, str]] = {}

    def _swap_accounting(self) -> bool:
        if "memory" in self.cg.v1:
            return os.path.exists(os.path.join(self.cg.v1["memory"], "memory.memsw.limit_in_bytes"))
        return self.cg.is_v2("memory")

    def render(self, name: str, pid: int) -> str:
        """Text of virtual file NAME (a HOST_FILES key) for caller PID; host file on error."""
        ttl = self.cg.cache.ttl
        key = None
        if ttl > 0 and name not in ("uptime", "loadavg"):
            key = (name, self.resolver.view_pid(pid))
            hit = self._rendered.get(key)
            now = time.monotonic()
            if hit is not None and now - hit[0] < ttl:
                return hit[1]
        try:
            text = getattr(self, "_" + name)(pid)
        except (OSError, ValueError, KeyError, IndexError, ZeroDivisionError):
            text = None
        if text is None:
            text = read_text(HOST_FILES[name]) or ""
        if key is not None:
            if len(self._rendered) > 4096:
                self._rendered.clear()
            self._rendered[key] = (now, text)
        return text

    # -- helpers
    def _cgroup(self, pid: int, controller: str) -> str | None:
        return self.cg.cgroup_of(self.resolver.view_pid(pid), controller)

    def _cpus(self, cg: str) -> tuple[list[int], str] | None:
        """cpuset.cpus, else cpuset.cpus.effective, else the nearest non-empty ancestor."""
        for c in ancestors(cg):
            for f in ("cpuset.cpus", "cpuset.cpus.effective"):
                t = self.cg.get("cpuset", c, f)
                if t and t.strip():
                    return views.parse_cpuset(t), t.strip()
        return None

    def _max_cpus(self, pid: int, ncpuset: int) -> int | None:
        """CFS view CPU count (None when the view is off). BETTER (as lxcfs 7): the tightest
        quota over the cgroup and its ancestors counts, not only the cgroup's own."""
        if not self.use_cfs:
            return None
        cg = self._cgroup(pid, "cpu")
        best = ncpuset
        if cg is not None:
            v2 = self.cg.is_v2("cpu")
            for c in ancestors(cg):
                if v2:
                    t = self.cg.get("cpu", c, "cpu.max")
                    f = (t or "").split()
                    quota = int(f[0]) if len(f) == 2 and f[0] != "max" else None
                    period = int(f[1]) if len(f) == 2 else None
                else:
                    quota = self.cg.get_int("cpu", c, "cpu.cfs_quota_us")
                    period = self.cg.get_int("cpu", c, "cpu.cfs_period_us")
                best = min(best, views.cfs_cpu_count(quota, period, ncpuset, NPROCS))
        return best

    def _mem_inputs(self, pid: int) -> views.MemInputs | None:
        cg = self._cgroup(pid, "memory")
        if cg is None:
            return None
        v2 = self.cg.is_v2("memory")
        get_int = self.cg.get_int
        usage = get_int("memory", cg, "memory.current" if v2 else "memory.usage_in_bytes")
        stat = self.cg.get("memory", cg, "memory.stat")
        if usage is None or stat is None:
            return None
        lim_file = "memory.max" if v2 else "memory.limit_in_bytes"
        sw_file = "memory.swap.max" if v2 else "memory.memsw.limit_in_bytes"
        limit = _min_limit(get_int, cg, lim_file)
        m = views.MemInputs(usage=usage, limit=limit, stat=views.parse_memory_stat(stat, v2),
                            v2=v2, swap=self.swap)
        if self.swap:
            m.memsw_limit = _min_limit(get_int, cg, sw_file)
            if m.memsw_limit > 0:
                m.memsw_usage = get_int("memory", cg, "memory.swap.current" if v2
                                        else "memory.memsw.usage_in_bytes")
                sw = get_int("memory", cg, "memory.swappiness")
                m.swappiness = 1 if sw is None else sw
        return m

    # -- files
    def _meminfo(self, pid: int) -> str | None:
        m = self._mem_inputs(pid)
        host = self.cg.host("/proc/meminfo")
        if m is None or not host:
            return None
        return views.render_meminfo(host, m)

    def _swaps(self, pid: int) -> str | None:
        m = self._mem_inputs(pid)
        host = self.cg.host("/proc/meminfo")
        if m is None or host is None:
            return None
        return views.render_swaps(host, m)

    def _cpuinfo(self, pid: int) -> str | None:
        cg = self._cgroup(pid, "cpuset")
        host = self.cg.host("/proc/cpuinfo")
        if cg is None or not host:
            return None
        cpus = self._cpus(cg)
        if cpus is None:
            return None
        return views.render_cpuinfo(host, cpus[0], self._max_cpus(pid, len(cpus[0])))

    def _online(self, pid: int) -> str | None:
        cg = self._cgroup(pid, "cpuset")
        if cg is None:
            return None
        cpus = self._cpus(cg)
        if cpus is None:
            return None
        return views.render_online(cpus[1], self._max_cpus(pid, len(cpus[0])))

    def _stat(self, pid: int) -> str | None:
        view_pid = self.resolver.view_pid(pid)
        if view_pid == 1:
            return None  # host pid 1 gets the host file (lxcfs)
        cg = self.cg.cgroup_of(view_pid, "cpuset")
        host = self.cg.host("/proc/stat")
        if cg is None or not host:
            return None
        cpus = self._cpus(cg)
        if cpus is None:
            return None
        usage = self._usage(view_pid, cpus[0])
        max_cpus = self._max_cpus(pid, len(cpus[0]))
        return views.render_stat(host, cpus[0], usage, max_cpus)

    def _usage(self, view_pid: int, cpus: list[int]) -> views.CpuUsage | None:
        acg = self.cg.cgroup_of(view_pid, "cpuacct")
        if acg is None:
            return None
        if self.cg.is_v2("cpuacct"):
            t = self.cg.get("cpu", acg, "cpu.stat")
            return views.usage_from_cpu_stat(t, cpus, TICKS) if t else None
        t = self.cg.get("cpuacct", acg, "cpuacct.usage_all")
        if t:
            u = views.parse_usage_all(t, TICKS)
            if u is not None:
                return u
        t = self.cg.get("cpuacct", acg, "cpuacct.usage_percpu")
        return views.parse_usage_percpu(t, TICKS) if t else None

    def _uptime(self, pid: int) -> str | None:
        init, shared = self.resolver.init_of(pid)
        if shared:
            init = 1
        if init <= 0:
            return None   # BETTER: lxcfs prints garbage when the init is gone; host file here
        st = start_time(init)
        if st is None:
            return None
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - st / TICKS
        busy = 0.0
        acg = self.cg.cgroup_of(init, "cpuacct")
        if acg is not None:
            if self.cg.is_v2("cpuacct"):
                t = self.cg.get("cpu", acg, "cpu.stat") or ""
                for line in t.splitlines():
                    if line.startswith("usage_usec "):
                        busy = int(line.split()[1]) / 1e6
            else:
                u = self.cg.get_int("cpuacct", acg, "cpuacct.usage")
                busy = (u or 0) / 1e9
        return views.render_uptime(max(age, 0.0), busy)

    def _loadavg(self, pid: int) -> str | None:
        if self.loadavg is None:
            return None
        view_pid = self.resolver.view_pid(pid)
        cg = self.cg.cgroup_of(view_pid, "cpu")
        if cg is None:
            return None
        return self.loadavg.render(cg, view_pid)

    def _diskstats(self, pid: int) -> str | None:
        cg = self._cgroup(pid, "blkio")
        host = self.cg.host("/proc/diskstats")
        if cg is None or host is None:
            return None
        if self.cg.is_v2("blkio"):
            t = self.cg.get("io", cg, "io.stat")
            return views.render_diskstats_v2(host, t) if t is not None else None
        names = ("blkio.io_serviced_recursive", "blkio.io_merged_recursive",
                 "blkio.io_service_bytes_recursive", "blkio.io_wait_time_recursive",
                 "blkio.io_service_time_recursive")
        texts = [self.cg.get("blkio", cg, n) for n in names]
        if any(t is None for t in texts):
            return None   # lxcfs: EOPNOTSUPP -> host file (CFQ-era files absent)
        return views.render_diskstats_v1(host, *texts)


def _min_limit(get_int, cg: str, name: str) -> int:
    """Smallest positive limit over CG and its ancestors; 0 when none ('max' on v2)."""
    best = 0
    for c in ancestors(cg):
        v = get_int("memory", c, name)
        if v and v > 0 and (best == 0 or v < best):
            best = v
    return best
