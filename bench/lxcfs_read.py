"""Read throughput of lxcfs_py versus Debian's lxcfs (same run, interleaved rounds).

Reader processes run in a new pid namespace inside a scratch cgroup (like a container), each
doing open/read-to-EOF/close of one file for DURATION seconds. Output: JSON printed and written
to bench/results/lxcfs_read.json.  Usage: python bench/lxcfs_read.py [--duration S] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "lxcfs"))

from lxcfs_testlib import ScratchCgroup, debian_lxcfs, lxcfs_py  # noqa: E402

LOOP = r"""
import os, sys, time
path, dur = sys.argv[1], float(sys.argv[2])
n = 0
end = time.monotonic() + dur
while time.monotonic() < end:
    fd = os.open(path, os.O_RDONLY)
    while os.read(fd, 65536):
        pass
    os.close(fd)
    n += 1
print(n)
"""


def run_readers(cg: ScratchCgroup, path: str, readers: int, duration: float) -> float:
    procs = [subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
                               LOOP, path, str(duration)], stdout=subprocess.PIPE,
                              preexec_fn=cg.join) for _ in range(readers)]
    total = 0
    for p in procs:
        out, _ = p.communicate(timeout=duration + 60)
        total += int(out)
    return total / duration


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if os.geteuid() != 0 or not os.access("/usr/bin/lxcfs", os.X_OK):
        print("lxcfs_read: needs root and /usr/bin/lxcfs", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="lxcfs_bench_")
    cg = ScratchCgroup(memory=1 << 30, cpus="0-1" if (os.cpu_count() or 1) > 1 else "0")
    servers = {}
    try:
        servers["lxcfs"] = debian_lxcfs(os.path.join(tmp, "lxcfs"))
        servers["lxcfs_py"] = lxcfs_py(os.path.join(tmp, "py"))
        servers["lxcfs_py_nocache"] = lxcfs_py(os.path.join(tmp, "py0"), "--cache-ms", "0")
        files = ["proc/meminfo", "proc/cpuinfo", "proc/stat"]
        samples: dict[str, list[float]] = {}
        for _ in range(a.rounds):
            for f in files:
                for readers in (1, 2):
                    for name, d in servers.items():
                        key = f"{name}|{f}|{readers}"
                        samples.setdefault(key, []).append(
                            run_readers(cg, os.path.join(d.mount, f), readers, a.duration))
        result = {"duration_s": a.duration, "rounds": a.rounds, "cpus": os.cpu_count(),
                  "unit": "reads/s (sum over readers, mean of rounds)", "cache_ms_default": 50,
                  "results": {}, "ratio_vs_lxcfs": {}}
        for key, vals in samples.items():
            result["results"][key] = round(statistics.mean(vals), 1)
        for f in files:
            for readers in (1, 2):
                base = result["results"][f"lxcfs|{f}|{readers}"]
                for name in ("lxcfs_py", "lxcfs_py_nocache"):
                    v = result["results"][f"{name}|{f}|{readers}"]
                    result["ratio_vs_lxcfs"][f"{name}|{f}|{readers}"] = round(v / base, 3)
        text = json.dumps(result, indent=2)
        print(text)
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "lxcfs_read.json").write_text(text + "\n")
        return 0
    finally:
        for d in servers.values():
            d.stop()
        cg.remove()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
