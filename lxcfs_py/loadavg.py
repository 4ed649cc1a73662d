"""Per-cgroup load average, sampled lazily on read (no background thread).

lxcfs -l runs a thread that walks every known cgroup every 5 s (lxcfs#504/#407: it freezes with
hundreds of containers). BETTER here: a cgroup is sampled only when its loadavg is read and at
least 5 s have passed; the decay step is applied once per elapsed 5 s interval with the sampled
count. The first read samples immediately, so run/total/last are right from the start (lxcfs
shows 0/1 INITPID until its thread runs); the averages start at 0.00 like lxcfs.
"""

from __future__ import annotations

import os
import time

from . import views
from .cgroup import Cgroups, read_text

INTERVAL = 5.0
DEPTH = 3          # lxcfs DEPTH_DIR: sub-cgroups counted 3 levels down
MAX_STEPS = 200    # beyond ~16 min without reads the averages have converged anyway


class _Node:
    __slots__ = ("avenrun", "running", "total", "last", "stamp", "used")

    def __init__(self) -> None:
        self.avenrun = (0, 0, 0)
        self.running = 0
        self.total = 1
        self.last = 0
        self.stamp = 0.0
        self.used = 0.0


def count_tasks(cgdir: str, depth: int = DEPTH) -> tuple[int, int, int]:
    """(runnable R/D threads, all threads, highest tid) of the tasks in CGDIR and below."""
    pids: list[str] = []
    _collect(cgdir, depth, pids)
    running = total = last = 0
    for p in pids:
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            total += 1
            it = int(t)
            if it > last:
                last = it
            st = read_text(f"/proc/{p}/task/{t}/stat")
            if st:
                state = st[st.rfind(")") + 2: st.rfind(")") + 3]
                if state in ("R", "D"):
                    running += 1
    return running, total, last


def _collect(d: str, depth: int, out: list[str]) -> None:
    if depth > 0:
        try:
            with os.scandir(d) as it:
                subs = [e.path for e in it if e.is_dir(follow_symlinks=False)]
        except OSError:
            subs = []
        for s in subs:
            _collect(s, depth - 1, out)
    text = read_text(d + "/cgroup.procs")
    if text:
        out.extend(text.split())


class LoadTracker:
    """Keeps the load average state of every cgroup whose loadavg was read."""

    def __init__(self, cgroups: Cgroups) -> None:
        self.cg = cgroups
        self.nodes: dict[str, _Node] = {}

    def render(self, cg: str, init_pid: int) -> str | None:
        d = self.cg.dir("cpu", cg)
        if d is None:
            return None
        now = time.monotonic()
        n = self.nodes.get(cg)
        if n is None:
            if len(self.nodes) > 4096:
                self._prune(now)
            n = self.nodes[cg] = _Node()
            n.last = init_pid
            n.running, n.total, n.last = count_tasks(d)
            n.total = max(n.total, 1)
            n.stamp = now
        elif now - n.stamp >= INTERVAL:
            steps = min(int((now - n.stamp) // INTERVAL), MAX_STEPS)
            run, n.total, n.last = count_tasks(d)
            n.running = run
            a, b, c = n.avenrun
            for _ in range(steps):
                a = views.calc_load(a, views.EXP_1, run)
                b = views.calc_load(b, views.EXP_5, run)
                c = views.calc_load(c, views.EXP_15, run)
            n.avenrun = (a, b, c)
            n.stamp += steps * INTERVAL
        n.used = now
        return views.render_loadavg(n.avenrun, n.running, n.total, n.last)

    def _prune(self, now: float) -> None:
        for k, n in list(self.nodes.items()):
            if now - n.used > 600:
                del self.nodes[k]
