"""Crash safety: the CLI killed mid-`run -d`, conmon killed, and a simulated host reboot. After each,
`ps -a` tells the truth and `rm -f` (or `start`) repairs everything."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
from corelib import (StoreSnapshot, assert_clean, cgroup_dirs, mounts_under, proc_alive, rc_argv,
                     runc_list, wait_until)

from richcontainer.util.lock import is_locked

pytestmark = pytest.mark.integration


def runc_state(rc, cid: str) -> dict | None:  # noqa: ANN001
    paths = StoreSnapshot(rc.root).paths
    p = subprocess.run(["runc", "--root", str(paths.runc_root), "state", cid], capture_output=True, text=True,
                       timeout=30)
    return json.loads(p.stdout) if p.returncode == 0 else None


def _why(rc, name: str, c: dict, rs: dict | None) -> str:  # noqa: ANN001
    i = rc.inspect(c["Id"])
    paths = StoreSnapshot(rc.root).paths
    return (f"{name}: ps={c['State']} pid={c['Pid']} alive={proc_alive(c['Pid'] or 0)} runc={rs} "
            f"saved={i['status']} mon={i['monitor_pid']} alive={proc_alive(i['monitor_pid'] or 0)} "
            f"runc_dir={(paths.runc_root / c['Id']).exists()} files={sorted(os.listdir(paths.container_dir(c['Id'])))}")


def assert_truthful(rc, prefix: str, settled: bool = True) -> dict[str, dict]:  # noqa: ANN001
    """`ps -a` exits 0, and (SETTLED: nothing acts on them any more) what it says about containers
    named PREFIX* matches the system."""
    p = rc("ps", "-a", "--format", "json", check=False)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    mine = {c["Names"]: c for c in json.loads(p.stdout) if c["Names"].startswith(prefix)}
    if not settled:
        return mine
    for name, c in mine.items():
        rs = runc_state(rc, c["Id"])
        if c["State"] == "running":
            assert c["Pid"] and proc_alive(c["Pid"]), (name, c)
            assert rs and rs["status"] == "running", _why(rc, name, c, rs)
        elif c["State"] == "created":
            if c["Pid"]:  # the runtime holds it, waiting for `runc start`
                assert rs and rs["status"] == "created", _why(rc, name, c, rs)
            else:  # made in the store only (the CLI died before start): the runtime has nothing yet
                assert rs is None, _why(rc, name, c, rs)
        elif c["State"] == "exited":
            assert not (rs and rs["status"] in ("running", "created", "paused")), (name, rs)
        else:
            pytest.fail(f"{name}: unexpected state {c['State']}")
    return mine


def _acting_on(paths, cids: list[str]) -> list[str]:  # noqa: ANN001
    """Which of CIDS a command is still working on: its lock is held, a process other than a
    monitor that has created the container names it (an exit command; runc create or start), or
    its monitor is still creating it."""
    busy = {cid for cid in cids if is_locked(paths.locks / f"{cid}.lock")}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        for cid in cids:
            if cid.encode() in argv:
                monitor = os.path.basename(argv[0]) == b"conmon"
                if not monitor or not (paths.container_dir(cid) / "pidfile").exists():
                    busy.add(cid)
    return sorted(busy)


def wait_settled(rc, cids: list[str], timeout: float = 30) -> None:  # noqa: ANN001
    """Wait until no command acts on containers CIDS (twice in a row, 50 ms apart).

    A kill leaves work in flight: the runc start it spawned goes on, and Debian's conmon (2.1.6),
    when the CLI died before reading the container's pid, exits and runs its exit command, which
    repairs the container under its lock. `ps` meanwhile reports what it sees without acting."""
    paths = StoreSnapshot(rc.root).paths
    quiet = 0
    deadline = time.monotonic() + timeout
    while quiet < 2:
        busy = _acting_on(paths, cids)
        quiet = 0 if busy else quiet + 1
        assert time.monotonic() < deadline, f"still being worked on after {timeout}s: {busy}"
        time.sleep(0.05)


def test_cli_killed_mid_run(rc, base_image: str) -> None:  # noqa: ANN001
    """kill -9 of the in-process CLI at several points of `run -d`."""
    before = StoreSnapshot(rc.root)
    env = {**rc.env, "RICHCONTAINER_FORKSERVER": "0"}
    # calibrate: how long a whole in-process `run -d` takes here
    t0 = time.monotonic()
    subprocess.run([*rc_argv(), "run", "-d", "--name", "cr-kill-calib", base_image, "sleep", "300"], env=env,
                   check=True, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    full = time.monotonic() - t0
    delays = sorted({round(full * f, 3) for f in (0.15, 0.3, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95)})
    for i, delay in enumerate(delays):
        proc = subprocess.Popen([*rc_argv(), "run", "-d", "--name", f"cr-kill-{i}", base_image, "sleep", "300"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    in_flight = assert_truthful(rc, "cr-kill-", settled=False)  # commands work while repairs are in flight
    wait_settled(rc, [c["Id"] for c in in_flight.values()])
    states = assert_truthful(rc, "cr-kill-")
    # commands against the half-made containers work, and removing them leaves nothing
    ids = {name: c["Id"] for name, c in states.items()}
    for name, cid in ids.items():
        p = rc("rm", "-f", cid, check=False)
        assert p.returncode == 0 and "Traceback" not in p.stderr, (name, p.stderr)
    for cid in ids.values():
        assert_clean(rc, cid)
    # nothing else of them: no stray container dirs (even without a state.json), mounts, names
    after = StoreSnapshot(rc.root)
    assert after.containers == before.containers, after.containers ^ before.containers
    assert not [n for n in after.names if n.startswith("cr-kill-")]
    assert set(after.mounts) == set(before.mounts)
    assert set(after.runc) == set(before.runc)
    tmp = after.paths.tmp
    assert not (tmp.is_dir() and os.listdir(tmp))


def test_monitor_killed(rc, base_image: str) -> None:  # noqa: ANN001
    cid = rc("run", "-d", "--name", "cr-mon", base_image, "sleep", "300").stdout.strip()
    info = rc.inspect("cr-mon")
    mon = info["monitor_pid"]
    assert mon and proc_alive(mon)
    with open(f"/proc/{mon}/comm") as f:
        assert f.read().strip() == "conmon"
    os.kill(mon, signal.SIGKILL)
    wait_until(lambda: not proc_alive(mon))
    # the container itself keeps running, and ps says so
    assert assert_truthful(rc, "cr-mon")["cr-mon"]["State"] == "running"
    assert rc("exec", "cr-mon", "true").returncode == 0
    # now the container dies with nobody watching: ps notices
    os.kill(info["pid"], signal.SIGKILL)
    wait_until(lambda: rc.inspect("cr-mon")["status"] == "exited", timeout=20)
    assert_truthful(rc, "cr-mon")
    rc("rm", "-f", "cr-mon")
    assert_clean(rc, cid)

    # and rm -f of a still-running container whose conmon is gone
    cid = rc("run", "-d", "--name", "cr-mon2", base_image, "sleep", "300").stdout.strip()
    os.kill(rc.inspect("cr-mon2")["monitor_pid"], signal.SIGKILL)
    rc("rm", "-f", "cr-mon2", timeout=60)
    assert_clean(rc, cid)


def _simulate_reboot(rc, cids: list[str]) -> None:  # noqa: ANN001
    """What a host reboot does to a store: processes gone, mounts gone, /run emptied."""
    paths = StoreSnapshot(rc.root).paths
    for cid in cids:
        st = json.loads((paths.container_dir(cid) / "state.json").read_text())
        for pid in (st.get("monitor_pid"), st.get("pid")):
            if pid and proc_alive(pid):
                os.kill(pid, signal.SIGKILL)
        for pid in (st.get("monitor_pid"), st.get("pid")):
            if pid:
                wait_until(lambda pid=pid: not proc_alive(pid), timeout=20)
    for cid in cids:
        for mp in sorted(mounts_under(paths.container_dir(cid)), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], check=True, timeout=30)
        shutil.rmtree(paths.runc_root / cid, ignore_errors=True)


def test_reboot_safety(rc, base_image: str) -> None:  # noqa: ANN001
    a = rc("run", "-d", "--name", "cr-boot-a", base_image, "sleep", "300").stdout.strip()
    b = rc("run", "-d", "--name", "cr-boot-b", "--restart", "always", base_image, "sleep", "300").stdout.strip()
    rc("exec", "cr-boot-a", "sh", "-c", "echo kept > /root/marker")
    _simulate_reboot(rc, [a, b])
    states = assert_truthful(rc, "cr-boot-")
    assert states["cr-boot-a"]["State"] == "exited" and states["cr-boot-b"]["State"] == "exited"
    assert rc("ps", "-q").stdout.split().count(a[:12]) == 0
    # start brings them back, with their writable layer intact
    rc("start", "cr-boot-a", "cr-boot-b")
    for name in ("cr-boot-a", "cr-boot-b"):
        info = rc.inspect(name)
        assert info["status"] == "running" and proc_alive(info["pid"])
    assert rc("exec", "cr-boot-a", "cat", "/root/marker").stdout == "kept\n"
    assert rc("exec", "cr-boot-b", "true").returncode == 0
    assert_truthful(rc, "cr-boot-")
    for cid in (a, b):
        rc("rm", "-f", cid)
        assert_clean(rc, cid)


def _host_net() -> tuple[set[str], str]:
    links = set(os.listdir("/sys/class/net"))
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, timeout=30).stdout
    return links, tables


def test_rm_force_after_reboot_without_start(rc, base_image: str) -> None:  # noqa: ANN001
    net_before = _host_net()
    cid = rc("run", "-d", "--name", "cr-boot-rm", base_image, "sleep", "300").stdout.strip()
    _simulate_reboot(rc, [cid])
    assert cgroup_dirs(cid), "the simulated reboot should leave the (empty) cgroup dirs"
    rc("rm", "-f", "cr-boot-rm")
    assert_clean(rc, cid)
    # poststop still ran for the run the "reboot" ended: no bridge, veth or NAT table is left
    assert _host_net() == net_before
    assert not runc_list(StoreSnapshot(rc.root).paths) or cid not in [c["id"] for c in runc_list(StoreSnapshot(rc.root).paths)]
