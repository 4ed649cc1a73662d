"""Resource usage of a running container, read from its cgroup (v1, hybrid or v2)."""

from __future__ import annotations

import time
from pathlib import Path


def cgroup_paths(pid: int) -> dict[str, Path]:
    """controller -> host cgroup dir of PID ('' for the unified hierarchy)."""
    out: dict[str, Path] = {}
    with open(f"/proc/{pid}/cgroup", encoding="utf-8") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrls == "":
                out.setdefault("", Path("/sys/fs/cgroup/unified" if Path("/sys/fs/cgroup/unified").is_dir()
                                        and not Path("/sys/fs/cgroup/cgroup.controllers").exists()
                                        else "/sys/fs/cgroup") / path.lstrip("/"))
            for c in ctrls.split(","):
                if c:
                    out[c] = Path("/sys/fs/cgroup") / c / path.lstrip("/")
    return out


def _read_int(p: Path) -> int | None:
    try:
        text = p.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return None


def sample(pid: int) -> dict[str, float | int | None]:
    cg = cgroup_paths(pid)
    if "memory" in cg:
        mem = _read_int(cg["memory"] / "memory.usage_in_bytes")
        limit = _read_int(cg["memory"] / "memory.limit_in_bytes")
        if limit is not None and limit >= 1 << 62:
            limit = None
    else:
        mem = _read_int(cg[""] / "memory.current")
        limit = _read_int(cg[""] / "memory.max")
    if "cpuacct" in cg:
        cpu_ns = _read_int(cg["cpuacct"] / "cpuacct.usage")
    else:
        cpu_ns = None
        try:
            for line in (cg[""] / "cpu.stat").read_text().splitlines():
                if line.startswith("usage_usec"):
                    cpu_ns = int(line.split()[1]) * 1000
        except OSError:
            pass
    pids = _read_int(cg.get("pids", cg.get("", Path("/nonexistent"))) / "pids.current")
    return {"mem": mem, "mem_limit": limit, "cpu_ns": cpu_ns, "pids": pids, "t": time.monotonic()}


def cpu_percent(a: dict, b: dict) -> float:
    if a["cpu_ns"] is None or b["cpu_ns"] is None or b["t"] <= a["t"]:
        return 0.0
    return 100.0 * (b["cpu_ns"] - a["cpu_ns"]) / ((b["t"] - a["t"]) * 1e9)


def human(n: float | int | None) -> str:
    if n is None:
        return "--"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1024
    return str(n)
