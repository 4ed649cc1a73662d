"""lxcfs_py inside richcontainer containers: truthful free/nproc/cpuinfo/uptime, and crash recovery."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def lxcfs_state_dir(rc) -> Path:
    import hashlib

    mnt = os.path.abspath(rc.env["RICHCONTAINER_LXCFS_MOUNT"])
    return Path(f"/run/richcontainer-lxcfs/{hashlib.sha256(mnt.encode()).hexdigest()[:12]}")


def test_free_nproc_cpuinfo_uptime_show_the_container(rc, base_image):
    rc("run", "-d", "--name", "lx", "--lxcfs", "-m", "256m", "--cpuset-cpus", "0", base_image, "sleep", "300")
    total = rc("exec", "lx", "free", "-m").stdout.splitlines()[1].split()[1]
    assert total == "256"
    assert rc("exec", "lx", "nproc").stdout.strip() == "1"
    assert rc("exec", "lx", "grep", "-c", "^processor", "/proc/cpuinfo").stdout.strip() == "1"
    up = float(rc("exec", "lx", "cat", "/proc/uptime").stdout.split()[0])
    assert up < 60, f"uptime {up}s is the host's, not the container's"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two CPUs to show --cpus narrowing nproc")
def test_cpus_quota_narrows_nproc(rc, base_image):
    rc("run", "-d", "--name", "lxq", "--lxcfs", "--cpus", "0.5", base_image, "sleep", "300")
    assert rc("exec", "lxq", "nproc").stdout.strip() == "1"
    assert rc("exec", "lxq", "cat", "/sys/devices/system/cpu/online").stdout.strip() == "0"


def test_daemon_killed_is_restarted_and_reattached_without_restarting_containers(rc, base_image):
    names = ["lxa", "lxb", "lxc"]
    for n in names:
        rc("run", "-d", "--name", n, "--lxcfs", "-m", "128m", base_image, "sleep", "300")
    pids = {n: rc.inspect(n)["pid"] for n in names}
    state = lxcfs_state_dir(rc)
    daemon = int((state / "daemon.pid").read_text())
    os.kill(daemon, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while True:
        try:
            new = int((state / "daemon.pid").read_text())
        except (OSError, ValueError):
            new = daemon
        if new != daemon and Path(f"/proc/{new}").exists():
            break
        assert time.monotonic() < deadline, "the lxcfs daemon was not restarted"
        time.sleep(0.1)
    restarted = time.monotonic()
    for n in names:
        while True:
            p = rc("exec", n, "head", "-1", "/proc/meminfo", check=False)
            if p.returncode == 0 and "131072 kB" in p.stdout:
                break
            assert time.monotonic() - restarted < 5, f"{n}: /proc/meminfo still broken: {p.stderr}"
            time.sleep(0.1)
    assert {n: rc.inspect(n)["pid"] for n in names} == pids, "containers were restarted"
    mountpoints = [line.split()[4] for line in open("/proc/self/mountinfo") if "lxcfs" in line.split(" - ")[-1]]
    assert len(mountpoints) == len(set(mountpoints)), f"stacked lxcfs mounts: {mountpoints}"
