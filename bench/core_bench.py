#!/usr/bin/env python3
"""Core benchmark: richcontainer against plain runc (and podman as the peer) on one host.

Measures, each as median/min/max over N rounds after warm-up rounds:
  run:  `richcontainer run --rm --network none IMG /bin/true`  vs  `runc run` of a bundle made by
        `runc spec` over a copy of the same image rootfs (target: <= 3x runc)
  exec: `richcontainer exec C /bin/true`  vs  `runc exec` into the same container (target: <= 3x)
  ps:   `richcontainer ps` with 50 running containers (target: < 150 ms)
  rss:  conmon's VmRSS per running container (target: <= 2 MiB)
  podman: `podman --runtime runc run --rm --rootfs DIR /bin/true`, and its conmon's RSS.
Writes bench/results/core_bench.json and prints it. Needs root; uses a scratch store it removes.
Usage: python3 bench/core_bench.py [--rounds 15] [--warmup 3] [--containers 50]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

IMAGE = "debian:bookworm"
TARGETS = {"run_ratio": 3.0, "exec_ratio": 3.0, "ps_ms": 150.0, "monitor_rss_kib": 2048}


def rc_cmd() -> list[str]:
    exe = shutil.which("richcontainer")
    return [exe] if exe else [sys.executable, "-m", "richcontainer"]


def sh(argv: list[str], env: dict[str, str] | None = None, timeout: float = 300, check: bool = True) -> str:
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... exit {p.returncode}: {p.stderr.strip()[-400:]}")
    return p.stdout


def timed(make_argv, rounds: int, warmup: int, env: dict[str, str] | None = None) -> dict:  # noqa: ANN001
    """Run make_argv(i) warmup+rounds times; stats in ms over the measured rounds."""
    samples = []
    for i in range(warmup + rounds):
        argv = make_argv(i)
        t0 = time.perf_counter()
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=120)
        dt = (time.perf_counter() - t0) * 1000
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:5])}... exit {p.returncode}: {p.stderr.decode()[-400:]}")
        if i >= warmup:
            samples.append(dt)
    return {"median_ms": round(statistics.median(samples), 1), "min_ms": round(min(samples), 1),
            "max_ms": round(max(samples), 1), "rounds": rounds, "warmup": warmup}


def status_kib(pid: int, field: str = "VmRSS") -> int | None:
    """A kB field of /proc/PID/status (VmRSS; RssAnon is the part no other process shares)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def make_runc_bundle(rootfs: Path, bundle: Path) -> None:
    """`runc spec` defaults (pid, net, ipc, uts, mount namespaces) over ROOTFS, running /bin/true."""
    bundle.mkdir(parents=True)
    sh(["runc", "spec", "--bundle", str(bundle)])
    spec = json.loads((bundle / "config.json").read_text())
    spec["root"] = {"path": str(rootfs), "readonly": False}
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/bin/true"]
    (bundle / "config.json").write_text(json.dumps(spec, indent=1))


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="rc-bench-core-", dir="/var/tmp"))
        self.root = self.work / "store"
        self.env = {**os.environ, "RICHCONTAINER_ROOT": str(self.root)}
        from richcontainer.paths import StorePaths

        self.paths = StorePaths(self.root)
        self.podman_ids: list[str] = []
        self.result: dict = {"host": {"load_avg_start": list(os.getloadavg()), "nproc": os.cpu_count(),
                                      "kernel": os.uname().release}, "targets": TARGETS, "notes": []}

    def rc(self, *args: str, timeout: float = 300) -> str:
        return sh([*rc_cmd(), *args], env=self.env, timeout=timeout)

    def run(self) -> dict:
        a, r = self.args, self.result
        self.rc("image", "bootstrap", IMAGE, timeout=1800)
        image_rootfs = Path(json.loads(self.rc("image", "inspect", IMAGE))[0]["rootfs"])
        copy = self.work / "rootfs"
        sh(["cp", "-a", str(image_rootfs), str(copy)], timeout=900)
        bundle = self.work / "bundle"
        make_runc_bundle(copy, bundle)
        runc_root = self.work / "runc-root"

        # ----- run --rm /bin/true ------------------------------------------------------------
        r["run"] = {
            "runc": timed(lambda i: ["runc", "--root", str(runc_root), "run", "--bundle", str(bundle), f"b{i}"],
                          a.rounds, a.warmup),
            "richcontainer": timed(lambda i: [*rc_cmd(), "run", "--rm", "--network", "none", IMAGE, "/bin/true"],
                                   a.rounds, a.warmup, self.env),
        }
        try:
            r["run"]["richcontainer_default_network"] = timed(
                lambda i: [*rc_cmd(), "run", "--rm", IMAGE, "/bin/true"], a.rounds, a.warmup, self.env)
        except RuntimeError as e:
            r["run"]["richcontainer_default_network"] = {"error": str(e)[:300]}
        r["run"]["ratio"] = round(r["run"]["richcontainer"]["median_ms"] / r["run"]["runc"]["median_ms"], 2)
        r["notes"].append("run: both use the same rootfs content and new pid/net/ipc/uts/mount namespaces; "
                          "richcontainer also mounts an overlay per container, makes a cgroup namespace, bind-mounts "
                          "/etc/hosts,resolv.conf,hostname, applies seccomp/masked paths, goes through the CLI "
                          "(thin client + forkserver), and cleans up (--rm); runc runs an existing bundle on a plain dir")

        # ----- exec /bin/true ----------------------------------------------------------------
        cid = self.rc("run", "-d", "--network", "none", "--name", "bench-0", IMAGE, "sleep", "3600").strip()
        r["exec"] = {
            "runc": timed(lambda i: ["runc", "--root", str(self.paths.runc_root), "exec", cid, "/bin/true"],
                          a.rounds, a.warmup),
            "richcontainer": timed(lambda i: [*rc_cmd(), "exec", "bench-0", "/bin/true"], a.rounds, a.warmup,
                                   self.env),
        }
        r["exec"]["ratio"] = round(r["exec"]["richcontainer"]["median_ms"] / r["exec"]["runc"]["median_ms"], 2)

        # ----- ps with N containers; conmon RSS ----------------------------------------------
        t0 = time.perf_counter()
        for i in range(1, a.containers):
            self.rc("run", "-d", "--network", "none", "--name", f"bench-{i}", IMAGE, "sleep", "3600")
        r["create_containers_s"] = round(time.perf_counter() - t0, 1)
        states = json.loads(self.rc("ps", "--format", "json"))
        running = [s for s in states if s["Names"].startswith("bench-") and s["State"] == "running"]
        r["ps"] = {"containers_running": len(running),
                   "table": timed(lambda i: [*rc_cmd(), "ps"], a.rounds, a.warmup, self.env),
                   "all_json": timed(lambda i: [*rc_cmd(), "ps", "-a", "--format", "json"], a.rounds, a.warmup,
                                     self.env)}
        rss, anon = [], []
        for s in running:
            mon = json.loads(self.rc("inspect", s["Id"]))[0]["monitor_pid"]
            if mon and (kib := status_kib(mon)) is not None:
                rss.append(kib)
                anon.append(status_kib(mon, "RssAnon") or 0)
        # VmRSS counts the shared libraries' pages each conmon touched (libc/glib, ~1.6 MiB, varying with
        # page-cache fault-around); RssAnon is what each extra container really adds.
        r["monitor_rss_kib"] = {"median": statistics.median(rss) if rss else None, "min": min(rss, default=None),
                                "max": max(rss, default=None), "samples": len(rss), "monitor": "conmon",
                                "anon_median": statistics.median(anon) if anon else None}
        self.podman(copy)
        r["host"]["load_avg_end"] = list(os.getloadavg())
        r["verdict"] = {
            "run_ratio_ok": r["run"]["ratio"] <= TARGETS["run_ratio"],
            "exec_ratio_ok": r["exec"]["ratio"] <= TARGETS["exec_ratio"],
            "ps_ok": r["ps"]["table"]["median_ms"] < TARGETS["ps_ms"],
            "monitor_rss_ok": bool(rss) and statistics.median(rss) <= TARGETS["monitor_rss_kib"],
        }
        return r

    def podman(self, rootfs: Path) -> None:
        a, r = self.args, self.result
        if not shutil.which("podman"):
            r["podman"] = {"error": "podman is not installed"}
            return
        # no CAP_SYS_RESOURCE here: podman's default rlimits (nofile 1048576, host nproc) cannot be set,
        # so lower ones are passed
        base = ["podman", "--runtime", "runc", "run", "--network", "none", "--ulimit", "nofile=1024:1024",
                "--ulimit", "nproc=4096:4096"]
        try:
            out: dict = {"run": timed(lambda i: [*base, "--rm", "--rootfs", str(rootfs), "/bin/true"],
                                      a.rounds, a.warmup)}
            pid = sh([*base, "-d", "--rootfs", str(rootfs), "sleep", "3600"]).strip()
            self.podman_ids.append(pid)
            conmon = int(sh(["podman", "inspect", "--format", "{{.State.ConmonPid}}", pid]).strip())
            out["conmon_rss_kib"] = status_kib(conmon)
            out["exec"] = timed(lambda i: ["podman", "exec", pid, "/bin/true"], a.rounds, a.warmup)
            out["note"] = "podman --runtime runc, --rootfs (no image store), --network none, lowered --ulimit"
            r["podman"] = out
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            r["podman"] = {"error": str(e)[:400]}

    def cleanup(self) -> None:
        for pid in self.podman_ids:
            subprocess.run(["podman", "rm", "-f", "-t", "0", pid], capture_output=True, timeout=120)
        with contextlib.suppress(Exception):
            states = json.loads(self.rc("ps", "-a", "--format", "json"))
            ids = [s["Id"] for s in states]
            for i in range(0, len(ids), 10):
                subprocess.run([*rc_cmd(), "rm", "-f", *ids[i:i + 10]], env=self.env, capture_output=True,
                               timeout=300)
        for pidfile in self.paths.run.glob("forkserver-*.sock.pid"):
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(pidfile.read_text()), signal.SIGTERM)
        runc_root = self.work / "runc-root"
        if runc_root.exists():
            for c in json.loads(sh(["runc", "--root", str(runc_root), "list", "--format", "json"], check=False) or "null") or []:
                subprocess.run(["runc", "--root", str(runc_root), "delete", "--force", c["id"]], capture_output=True,
                               timeout=60)
        with open("/proc/self/mountinfo") as f:
            mps = [ln.split()[4] for ln in f if ln.split()[4].startswith(str(self.work) + "/")]
        for mp in sorted(mps, key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True, timeout=60)
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.paths.run, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--containers", type=int, default=50)
    ap.add_argument("--out", default=str(HERE / "results" / "core_bench.json"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("core_bench: run as root", file=sys.stderr)
        return 1
    sys.path.insert(0, str(HERE))
    from boot_peers import compile_code

    compile_code()
    bench = Bench(args)
    try:
        result = bench.run()
    finally:
        bench.cleanup()
    text = json.dumps(result, indent=1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
