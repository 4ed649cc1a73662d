#!/usr/bin/env python3
"""Cost of network setup per container: bridge minus none, richcontainer hooks vs podman/netavark.

For each variant N containers (busybox ``sleep``) are started and removed one after the other;
the per-container cost is median(bridge) - median(none), for start (create+start, i.e. the
createRuntime hook) and removal (delete + poststop hook). richcontainer runs on raw runc with the
spec fragment from ``richcontainer.networks``, with both netlink backends (iproute2, pyroute2).
Podman runs ``podman --runtime runc run -d --rootfs DIR`` on a network made for the bench.
Traffic: none. Subnets: 10.213.240-250.0/24 only. Prints JSON and writes bench/results/net_setup.json.
Usage: sudo python3 bench/net_setup.py [-n 15] [--no-podman]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "net")]

import rcbundle  # noqa: E402

from richcontainer import networks  # noqa: E402

TARGET_MS = 50.0
TABLE = "rcbench"
PODMAN_NET = "rcbench"
# no CAP_SYS_RESOURCE here: podman's default rlimits cannot be set, lower ones can
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def _ms(xs: list[float]) -> float:
    return round(statistics.median(xs) * 1000, 1)


def bench_rc(tmp: Path, rootfs: Path, mode: str, n: int, netlink: str = "") -> dict:
    """Start/remove N containers on raw runc with the richcontainer fragment for MODE."""
    netroot = tmp / f"root-{mode}-{netlink or 'ip'}"
    if mode != "none" and not (netroot / "networks" / f"{mode}.json").exists():
        networks.create_network(str(netroot), mode, "10.213.241.0/24")
    starts, stops, hooks_up = [], [], []
    for i in range(n + 1):  # the first one is a warm-up
        cid = f"rcb-{uuid.uuid4().hex[:8]}"
        c = rcbundle.Container(tmp / "runc", tmp / "b" / cid, cid, rootfs, ["sleep", "600"])
        c.apply(networks.spec_fragment(str(netroot), cid, mode, hostname=cid, etc_dir=str(c.bundle / "etc"),
                                       netlink=netlink))
        t0 = time.perf_counter()
        try:
            c.run()
            t1 = time.perf_counter()
        finally:
            t2 = time.perf_counter()
            c.remove()
            t3 = time.perf_counter()
        if i:
            starts.append(t1 - t0)
            stops.append(t3 - t2)
        shutil.rmtree(c.bundle, ignore_errors=True)
    return {"start_ms": _ms(starts), "remove_ms": _ms(stops), "n": n, **({"hook_up_ms": _ms(hooks_up)} if hooks_up else {})}


def bench_hook_alone(tmp: Path, rootfs: Path, n: int, netlink: str = "") -> dict:
    """Time only the `network up` / `network down` hook processes against a live netns."""
    netroot = tmp / f"root-hook-{netlink or 'ip'}"
    networks.create_network(str(netroot), "hk", "10.213.242.0/24")
    ups, downs = [], []
    # one container without network, its netns is reused by each hook run (up, then down)
    cid = f"rcb-{uuid.uuid4().hex[:8]}"
    c = rcbundle.Container(tmp / "runc", tmp / "b" / cid, cid, rootfs, ["sleep", "600"])
    c.run()
    try:
        pid = c.pid()
        for i in range(n + 1):
            frag = networks.spec_fragment(str(netroot), f"h{i}", "hk", hostname="h", etc_dir=str(tmp / "etc"),
                                          netlink=netlink)
            state = json.dumps({"id": f"h{i}", "pid": pid, "status": "creating", "bundle": str(tmp),
                                "annotations": frag["annotations"]})
            times = []
            for hook in (frag["hooks"]["createRuntime"][0], frag["poststop"][0]):
                env = dict(e.split("=", 1) for e in hook["env"])
                t0 = time.perf_counter()
                subprocess.run(hook["args"], input=state, text=True, env=env, check=True, timeout=60)
                times.append(time.perf_counter() - t0)
            if i:
                ups.append(times[0])
                downs.append(times[1])
    finally:
        c.remove()
    return {"up_ms": _ms(ups), "down_ms": _ms(downs), "n": n}


def _podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", "--runtime", "runc", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def bench_podman(rootfs: Path, network: str, n: int) -> dict:
    starts, stops = [], []
    for i in range(n + 1):
        name = f"rcb-{uuid.uuid4().hex[:8]}"
        t0 = time.perf_counter()
        p = _podman("run", "-d", "--name", name, "--network", network, *ULIMITS, "--rootfs", str(rootfs),
                    "sleep", "600")
        t1 = time.perf_counter()
        try:
            if p.returncode != 0:
                raise RuntimeError(f"podman run: {p.stderr.strip()}")
        finally:
            t2 = time.perf_counter()
            _podman("rm", "-f", "-t", "0", name)
            t3 = time.perf_counter()
        if i:
            starts.append(t1 - t0)
            stops.append(t3 - t2)
    return {"start_ms": _ms(starts), "remove_ms": _ms(stops), "n": n}


def _tables() -> set[str]:
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, timeout=30).stdout
    return {line.split(None, 1)[1] for line in out.splitlines() if line.startswith("table ")}


def _drop_netavark_leftovers(before: set[str]) -> list[str]:
    """Delete iptables-nft tables that podman's netavark created during the bench and left
    holding nothing but its (empty) NETAVARK chains; tables that existed before stay."""
    dropped = []
    for t in sorted(_tables() - before):
        j = json.loads(subprocess.run(["nft", "-j", "list", "table", *t.split()], capture_output=True,
                                      text=True, timeout=30).stdout or "{}")
        chains = [o["chain"]["name"] for o in j.get("nftables", []) if "chain" in o]
        if chains and all(c.startswith("NETAVARK") or c.isupper() for c in chains) and \
                any(c.startswith("NETAVARK") for c in chains):
            subprocess.run(["nft", "delete", "table", *t.split()], capture_output=True, timeout=30)
            dropped.append(t)
    return dropped


def diff(bridge: dict, none: dict) -> dict:
    return {"start_ms": round(bridge["start_ms"] - none["start_ms"], 1),
            "remove_ms": round(bridge["remove_ms"] - none["remove_ms"], 1),
            "total_ms": round(bridge["start_ms"] + bridge["remove_ms"] - none["start_ms"] - none["remove_ms"], 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=15, help="containers per variant (after one warm-up)")
    ap.add_argument("--no-podman", action="store_true")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "net_setup.json"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("net_setup: needs root", file=sys.stderr)
        return 1
    networks.NFT_TABLE = TABLE
    res: dict = {"bench": "net_setup", "target_ms_per_container": TARGET_MS,
                 "host": {"kernel": os.uname().release, "cpus": os.cpu_count(),
                          "runc": subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout.split("\n")[0]}}
    with tempfile.TemporaryDirectory(prefix="rc-netbench-") as d:
        tmp = Path(d)
        rootfs = rcbundle.make_rootfs(tmp / "rootfs")
        try:
            rc_none = bench_rc(tmp, rootfs, "none", args.n)
            rc_ip = bench_rc(tmp, rootfs, "rcbench", args.n)
            rc_pr = bench_rc(tmp, rootfs, "rcbench", args.n, netlink="pyroute2")
            res["richcontainer"] = {
                "none": rc_none, "bridge_iproute2": rc_ip, "bridge_pyroute2": rc_pr,
                "cost_iproute2": diff(rc_ip, rc_none), "cost_pyroute2": diff(rc_pr, rc_none),
                "hook_alone_iproute2": bench_hook_alone(tmp, rootfs, args.n),
                "hook_alone_pyroute2": bench_hook_alone(tmp, rootfs, args.n, "pyroute2")}
        finally:
            subprocess.run(["nft", "delete", "table", "inet", TABLE], capture_output=True)
        if not args.no_podman and shutil.which("podman"):
            tables_before = _tables()
            _podman("network", "rm", "-f", PODMAN_NET)
            p = _podman("network", "create", "--subnet", "10.213.250.0/24", PODMAN_NET)
            try:
                if p.returncode != 0:
                    res["podman"] = {"error": p.stderr.strip()}
                else:
                    pn = bench_podman(rootfs, "none", args.n)
                    pb = bench_podman(rootfs, PODMAN_NET, args.n)
                    backend = _podman("info", "--format", "{{.Host.NetworkBackend}}").stdout.strip()
                    res["podman"] = {"network_backend": backend, "none": pn, "bridge": pb, "cost": diff(pb, pn)}
            finally:
                _podman("network", "rm", "-f", PODMAN_NET)
                res.setdefault("podman", {})["cleaned_up_tables"] = _drop_netavark_leftovers(tables_before)
    cost = res["richcontainer"]["cost_iproute2"]["start_ms"]
    res["verdict"] = {"richcontainer_start_cost_ms": cost, "meets_target": cost < TARGET_MS}
    text = json.dumps(res, indent=2)
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
