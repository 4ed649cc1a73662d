#!/usr/bin/env python3
"""Time `richcontainer check` (target < 300 ms) and the compat work added to `run` (target < 20 ms).

Measures, N runs each (median and max, milliseconds):
  check_cli_ms        `python3 -m compat.check` as a new process (interpreter start + live probe + table)
  check_inprocess_ms  compat.check.run_check() in this process (fresh probe)
  facts_cached_ms     compat.probe.host_facts() with a warm cache
  plan_ms             compat.plan.plan() on the cached facts
  run_overhead_ms     host_facts (cached) + detect_guest + plan, what `run` pays
  rc_check_ms         the installed `richcontainer check` (its default forkserver mode), if installed
  rc_check_el6_ms     `richcontainer check` run whole under the el6 emulation harness (no forkserver)
Prints JSON and writes bench/results/check_time.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def timed(fn, n: int) -> dict:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return {"median": round(statistics.median(samples), 2), "max": round(max(samples), 2), "n": n}


def main() -> int:
    from compat.check import run_check
    from compat.guest import detect_guest
    from compat.model import ContainerRequest
    from compat.plan import plan
    from compat.probe import host_facts

    n = int(os.environ.get("BENCH_N", "10"))
    cache = tempfile.mkdtemp(prefix="rc-bench-")
    guest_root = os.environ.get("BENCH_GUEST_ROOTFS", "/")
    cli = [sys.executable, "-m", "compat.check"]
    results = {
        "check_cli_ms": timed(lambda: subprocess.run(cli, cwd=ROOT, stdout=subprocess.DEVNULL, timeout=30,
                                                     check=True), n),
        "check_inprocess_ms": timed(lambda: run_check(), n),
    }
    import shutil as _sh
    rc = _sh.which("richcontainer")
    if rc:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 30, "check": True}
        results["rc_check_ms"] = timed(lambda: subprocess.run([rc, "check"], **quiet), n)
        el6 = [sys.executable, "-m", "compat.emulate", "--profile", "el6", "--", rc, "check"]
        env = {**os.environ, "RICHCONTAINER_FORKSERVER": "0"}
        results["rc_check_el6_ms"] = timed(lambda: subprocess.run(el6, cwd=ROOT, env=env, **quiet), n)
    host_facts(cache_dir=cache)
    facts = host_facts(cache_dir=cache)
    guest = detect_guest(guest_root)
    results["facts_cached_ms"] = timed(lambda: host_facts(cache_dir=cache), n * 10)
    results["plan_ms"] = timed(lambda: plan(ContainerRequest(), facts, guest), n * 10)
    results["run_overhead_ms"] = timed(
        lambda: plan(ContainerRequest(), host_facts(cache_dir=cache), detect_guest(guest_root)), n * 10)
    results["targets"] = {"check_cli_ms": 300, "rc_check_ms": 300, "run_overhead_ms": 20}
    results["ok"] = (results["check_cli_ms"]["median"] < 300 and results["run_overhead_ms"]["median"] < 20
                     and results.get("rc_check_ms", {"median": 0})["median"] < 300)
    results["host"] = {"kernel": os.uname().release, "python": sys.version.split()[0], "guest_rootfs": guest_root}
    text = json.dumps(results, indent=2)
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "check_time.json"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    import shutil
    shutil.rmtree(cache, ignore_errors=True)
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
