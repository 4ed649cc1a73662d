#!/usr/bin/env python3
"""Boot and stop a systemd guest (Debian bookworm) with richcontainer and its peers, side by side.

Per round and tool: boot = start command until `systemctl is-system-running --wait` (run inside through the
tool's exec) returns; stop = clean-shutdown request (SIGRTMIN+3) until PID 1 is gone. Tools: richcontainer
(with and without lxcfs), runc ("runc-caps": podman's 11 caps, cgroupns, rw cgroupfs, tmpfs /run /run/lock
/tmp), LXC, systemd-nspawn, podman. Every round boots a never-booted rootfs, as `richcontainer run` does:
each peer gets a fresh overlay over the richcontainer image's rootfs, mounted before the clock starts;
"runc-reused" instead boots one copy of it every round (later boots are not first boots), for reference.
Rounds are interleaved (tool order rotates). Output: a table, and JSON printed and written to
bench/results/systemd_boot.json.  Usage: python bench/systemd_boot.py [--rounds N] [--tools a,b] [--warmup N]

The script re-executes itself under a child-subreaper parent so every daemon it starts (conmon, LXC's
monitor, runc's container init, richcontainer's forkserver) is reaped here and none is left behind.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import boot_peers as bp  # noqa: E402

TOOLS = ("richcontainer", "richcontainer-nolxcfs", "runc", "runc-reused", "lxc", "nspawn", "podman")
STATES = {"running", "degraded", "maintenance", "stopping"}  # "offline"/"starting": not up yet, probe again
TARGET_RATIO = 1.2
_WORKER = "RC_BENCH_SYSTEMD_BOOT_WORKER"


# ---------------------------------------------------------------- reaper parent

def _children() -> list[int]:
    out: list[int] = []
    for t in os.listdir("/proc/self/task"):
        try:
            out += [int(c) for c in open(f"/proc/self/task/{t}/children").read().split()]
        except OSError:
            pass
    return out


def reaper_main() -> int:
    """Become a child subreaper, run the worker, reap orphans; kill (by pid) any that outlive it."""
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker gets ^C and cleans up
    worker = subprocess.Popen([sys.executable, __file__, *sys.argv[1:]], env=dict(os.environ, **{_WORKER: "1"}),
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    rc = None
    while rc is None:
        pid, status = os.wait()
        if pid == worker.pid:
            rc = os.waitstatus_to_exitcode(status)
    deadline = time.monotonic() + 20
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            continue
        if time.monotonic() > deadline:
            left = _children()
            desc = []
            for p in left:
                try:
                    desc.append(f"{p}:" + open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ")[:120].decode())
                except OSError:
                    desc.append(str(p))
            print(f"systemd_boot: killing leftover processes {desc}", file=sys.stderr)
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
        time.sleep(0.05)
    return rc


# ---------------------------------------------------------------- measuring

def stats(vals: list[float]) -> dict[str, float] | None:
    if not vals:
        return None
    return {"median": round(statistics.median(vals), 3), "min": round(min(vals), 3), "max": round(max(vals), 3),
            "n": len(vals)}


def probe_boot(d: bp.Driver, cname: str, t0: float, timeout: float) -> tuple[str, int]:
    """Run is-system-running --wait inside until it answers with a state; return (state, probes)."""
    probes = 0
    last = ""
    while time.perf_counter() - t0 < timeout:
        probes += 1
        argv = d.exec_argv(cname, ["systemctl", "is-system-running", "--wait"])
        try:
            p = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=d.env,
                               timeout=max(1.0, timeout - (time.perf_counter() - t0)))
        except subprocess.TimeoutExpired:
            break
        words = p.stdout.split()
        if words and words[-1] in STATES:
            return words[-1], probes
        last = (p.stderr or p.stdout).strip()[-200:]
        time.sleep(0.01)
    raise RuntimeError(f"no system state within {timeout:.0f}s ({probes} probes; last: {last!r})")


def one_round(d: bp.Driver, cname: str, timeout: float) -> dict[str, object]:
    """Boot, query, stop and remove one container; every error is recorded, never raised."""
    rec: dict[str, object] = {"name": cname}
    try:
        d.new_rootfs()  # untimed: a never-booted rootfs, as every richcontainer `run` gets
        t0 = time.perf_counter()
        d.start(cname)
        rec["start_cmd_s"] = time.perf_counter() - t0
        rec["state"], rec["probes"] = probe_boot(d, cname, t0, timeout)
        rec["boot_s"] = time.perf_counter() - t0
        failed = subprocess.run(d.exec_argv(cname, ["systemctl", "list-units", "--failed", "--plain",
                                                    "--no-legend", "--no-pager"]),
                                capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, env=d.env)
        rec["failed_units"] = sorted(ln.split()[0] for ln in failed.stdout.splitlines() if ln.strip())
        pid = d.pid1(cname)
        t1 = time.perf_counter()
        d.stop(cname)
        rec["stop_cmd_s"] = time.perf_counter() - t1
        if not bp.wait_gone(pid, timeout):
            raise RuntimeError(f"PID 1 ({pid}) still there {timeout:.0f}s after the stop request")
        rec["stop_s"] = time.perf_counter() - t1
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
        rec["error"] = str(e)[:500]
    finally:
        t2 = time.perf_counter()
        try:
            d.remove(cname)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            rec.setdefault("error", f"remove: {e}"[:500])
        rec["remove_s"] = time.perf_counter() - t2
        try:
            d.drop_rootfs()
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            rec.setdefault("error", f"drop rootfs: {e}"[:500])
    return rec


def summarize(recs: list[dict[str, object]]) -> dict[str, object]:
    def col(k: str) -> list[float]:
        return [float(r[k]) for r in recs if k in r and "error" not in r]  # type: ignore[arg-type]
    failed = Counter(u for r in recs for u in r.get("failed_units", []))  # type: ignore[union-attr]
    return {"boot_s": stats(col("boot_s")), "stop_s": stats(col("stop_s")), "start_cmd_s": stats(col("start_cmd_s")),
            "stop_cmd_s": stats(col("stop_cmd_s")), "remove_s": stats(col("remove_s")),
            "probes_median": statistics.median(col("probes")) if col("probes") else None,
            "states": dict(Counter(str(r["state"]) for r in recs if "state" in r)),
            "failed_units": dict(failed), "errors": [r["error"] for r in recs if "error" in r]}


# ---------------------------------------------------------------- setup / cleanup

def make_drivers(names: list[str], base: Path, store: Path, rootfs: str, token: str) -> list[bp.Driver]:
    peers = base / "peers"
    table = {"richcontainer": lambda: bp.RichContainer(peers, rootfs, token, store, lxcfs=True),
             "richcontainer-nolxcfs": lambda: bp.RichContainer(peers, rootfs, token, store, lxcfs=False),
             "runc": lambda: bp.Runc(peers, rootfs, token), "runc-reused": lambda: bp.Runc(peers, rootfs, token, True),
             "lxc": lambda: bp.Lxc(peers, rootfs, token),
             "nspawn": lambda: bp.Nspawn(peers, rootfs, token), "podman": lambda: bp.Podman(peers, rootfs, token)}
    return [table[n]() for n in names]


def cleanup_store(store: Path) -> list[str]:
    """rm -f every container of the scratch store, stop the run's lxcfs daemon and its forkserver (pid file)."""
    notes: list[str] = []
    env = bp.rc_env(store)
    p = bp.run(["richcontainer", "ps", "-a", "-q"], env=env, check=False, timeout=60)
    ids = p.stdout.split()
    if ids:
        bp.run(["richcontainer", "rm", "-f", *ids], env=env, check=False, timeout=120)
        notes.append(f"removed {len(ids)} leftover richcontainer containers")
    bp.run(["richcontainer", "lxcfs", "stop", "--force"], env=env, check=False, timeout=60)  # the run's own daemon
    run_dir = bp.run([bp.RC_PY, "-c", "import sys; from pathlib import Path; from richcontainer.paths import "
                      "StorePaths; print(StorePaths(Path(sys.argv[1])).run)", os.fspath(store)],
                     env=env, check=False).stdout.strip()
    if run_dir and os.path.isdir(run_dir):
        for pidfile in Path(run_dir).glob("forkserver-*.sock.pid"):
            try:
                pid = int(pidfile.read_text().split()[0])
                os.kill(pid, signal.SIGTERM)
                if not bp.wait_gone(pid, 10):
                    os.kill(pid, signal.SIGKILL)
            except (ValueError, IndexError, ProcessLookupError, OSError):
                pass
        unmount_under(Path(run_dir))
        subprocess.run(["rm", "-rf", "--one-file-system", run_dir], timeout=120, check=False)
    return notes


def unmount_under(root: Path) -> None:
    prefix = os.fspath(root).rstrip("/") + "/"
    for _ in range(5):
        mounts = []
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                mp = line.split()[4].replace("\\040", " ")
                if mp.startswith(prefix) or mp == prefix.rstrip("/"):
                    mounts.append(mp)
        if not mounts:
            return
        for mp in sorted(mounts, key=len, reverse=True):
            if subprocess.run(["umount", mp], capture_output=True, timeout=30).returncode != 0:
                subprocess.run(["umount", "-l", mp], capture_output=True, timeout=30)


def leftover_cgroups(token: str) -> list[str]:
    """Cgroup directories whose name carries this run's token (runc/nspawn/podman/LXC name them by container)."""
    found = []
    for top in Path("/sys/fs/cgroup").iterdir():
        for dirpath, dirnames, _ in os.walk(top):
            for dn in dirnames:
                if token in dn:
                    found.append(os.path.join(dirpath, dn))
    return found


SIDE_CGROUPS = ("lxc.pivot", "libpod_parent")  # made by LXC's monitor and podman's cgroupfs manager


def side_cgroups() -> set[str]:
    return {os.fspath(p) for name in SIDE_CGROUPS for p in Path("/sys/fs/cgroup").glob(f"*/{name}")}


def remove_cgroups(paths: list[str]) -> None:
    for p in sorted(paths, key=len, reverse=True):
        for dirpath, dirnames, _ in sorted(os.walk(p, topdown=False), key=lambda x: -len(x[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


# ---------------------------------------------------------------- output

def fmt(s: dict[str, float] | None) -> str:
    return "-" if not s else f"{s['median']:.3f} ({s['min']:.3f}-{s['max']:.3f})"


def table(result: dict) -> str:
    rows = ["| tool | boot s | state | stop s | start cmd s | probes | failed units |", "|---|---|---|---|---|---|---|"]
    for name, t in result["tools"].items():
        if "unavailable" in t:
            rows.append(f"| {name} | unavailable: {t['unavailable']} | | | | | |")
            continue
        s = t["summary"]
        states = ",".join(f"{k}x{v}" if len(s["states"]) > 1 else k for k, v in s["states"].items()) or "-"
        failed = ", ".join(s["failed_units"]) or "none"
        errs = f" ERRORS {len(s['errors'])}" if s["errors"] else ""
        rows.append(f"| {name} | {fmt(s['boot_s'])} | {states}{errs} | {fmt(s['stop_s'])} | {fmt(s['start_cmd_s'])} "
                    f"| {s['probes_median']} | {failed} |")
    return "\n".join(rows)


# ---------------------------------------------------------------- main

def worker_main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds per tool first")
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of " + ",".join(TOOLS))
    ap.add_argument("--timeout", type=float, default=90.0, help="per boot / per stop (s)")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy console/tool logs here before cleanup")
    ap.add_argument("--out", default=os.fspath(HERE / "results" / "systemd_boot.json"))
    a = ap.parse_args()
    names = [n.strip() for n in a.tools.split(",") if n.strip()]
    bad = [n for n in names if n not in TOOLS]
    if bad or a.rounds < 1:
        print(f"systemd_boot: unknown tool(s) {bad} (choose from {','.join(TOOLS)})" if bad
              else "systemd_boot: --rounds must be >= 1", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("systemd_boot: needs root", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    token = secrets.token_hex(3)
    base = Path(f"/var/tmp/rc-bench-{token}")
    store = base / "store"
    result: dict = {"bench": "systemd_boot", "rounds": a.rounds, "warmup": a.warmup, "token": token,
                    "loadavg_start": os.getloadavg(), "host": {"kernel": os.uname().release,
                                                               "cpus": os.cpu_count()}, "tools": {}}
    drivers: list[bp.Driver] = []
    notes: list[str] = []
    side_before = side_cgroups()
    try:
        base.mkdir(parents=True)
        bp.compile_code()
        bp.run(["richcontainer", "image", "bootstrap", "debian:bookworm"], env=bp.rc_env(store), timeout=1800)
        info = json.loads(bp.run(["richcontainer", "image", "inspect", "debian:bookworm"], env=bp.rc_env(store)).stdout)
        rootfs = (info[0] if isinstance(info, list) else info)["rootfs"]
        result["image_rootfs"] = rootfs
        for d in make_drivers(names, base, store, rootfs, token):
            why = d.unavailable()
            entry: dict = {"version": d.tool_version()}
            if why is None:
                try:
                    d.prepare()
                    drivers.append(d)
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    why = f"prepare failed: {e}"
            if why:
                entry["unavailable"] = why
            result["tools"][d.name] = entry
        recs: dict[str, list[dict]] = {d.name: [] for d in drivers}
        warm: dict[str, list[dict]] = {d.name: [] for d in drivers}
        for r in range(-a.warmup, a.rounds):
            k = r % len(drivers) if drivers else 0
            for d in drivers[k:] + drivers[:k]:
                rec = one_round(d, f"rcb-{token}-{d.name.split('-')[-1][:6]}-{r + a.warmup}", a.timeout)
                (warm if r < 0 else recs)[d.name].append(rec)
                err = f" ERROR {rec['error']}" if "error" in rec else ""
                print(f"round {r:>2} {d.name:<22} boot {rec.get('boot_s', float('nan')):.3f} "
                      f"stop {rec.get('stop_s', float('nan')):.3f} {rec.get('state', '')}{err}", file=sys.stderr)
        for d in drivers:
            result["tools"][d.name].update(summary=summarize(recs[d.name]), rounds=recs[d.name],
                                           warmup_rounds=warm[d.name])
        rc_b = result["tools"].get("richcontainer", {}).get("summary", {}).get("boot_s")
        runc_b = result["tools"].get("runc", {}).get("summary", {}).get("boot_s")
        if rc_b and runc_b:
            ratio = rc_b["median"] / runc_b["median"]
            result["target"] = {"richcontainer_boot_over_runc": round(ratio, 3), "max": TARGET_RATIO,
                                "ok": ratio <= TARGET_RATIO}
    except KeyboardInterrupt:
        notes.append("interrupted")
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        notes.append(f"aborted: {e}")
        print(f"systemd_boot: {e}", file=sys.stderr)
    finally:
        for d in drivers:
            if a.keep_logs:
                Path(a.keep_logs, d.name).mkdir(parents=True, exist_ok=True)
                for f in d.dir.glob("*.log"):
                    subprocess.run(["cp", os.fspath(f), os.path.join(a.keep_logs, d.name)], check=False, timeout=30)
            try:
                d.teardown()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                notes.append(f"{d.name} teardown: {e}")
        if store.exists():
            notes += cleanup_store(store)
        left = leftover_cgroups(token)
        if left:
            notes.append(f"removed leftover cgroups: {left}")
            remove_cgroups(left)
        new_side = sorted(side_cgroups() - side_before)
        if new_side:  # only those this run created, and only while empty (rmdir fails otherwise)
            remove_cgroups(new_side)
            notes.append(f"removed the (empty) side cgroups it created: {sorted(set(Path(p).name for p in new_side))}")
        unmount_under(base)
        subprocess.run(["rm", "-rf", "--one-file-system", os.fspath(base)], timeout=600, check=False)
    result["loadavg_end"] = os.getloadavg()
    result["notes"] = notes
    text = json.dumps(result, indent=1)
    print(text)
    print(table(result))
    if result["tools"]:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text + "\n")
    return 0 if not any("aborted" in n for n in notes) else 1


if __name__ == "__main__":
    sys.exit(worker_main() if os.environ.get(_WORKER) else reaper_main())
