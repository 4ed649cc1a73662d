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


def test_stop_refused_while_used_and_a_forced_stop_heals_on_the_next_start(rc, base_image):
    rc("run", "-d", "--name", "lxs", "--lxcfs", "-m", "160m", base_image, "sleep", "300")
    pid = rc.inspect("lxs")["pid"]
    p = rc("lxcfs", "stop", check=False)
    assert p.returncode == 4 and "in use by 1 running container" in p.stderr and "Traceback" not in p.stderr
    assert "163840 kB" in rc("exec", "lxs", "head", "-1", "/proc/meminfo").stdout  # still served
    rc("lxcfs", "stop", "--force")
    assert rc("exec", "lxs", "head", "-1", "/proc/meminfo", check=False).returncode != 0  # the view is gone
    rc("run", "-d", "--name", "lxs2", "--lxcfs", "-m", "96m", base_image, "sleep", "300")  # starts the daemon
    deadline = time.monotonic() + 10
    while "163840 kB" not in rc("exec", "lxs", "head", "-1", "/proc/meminfo", check=False).stdout:
        assert time.monotonic() < deadline, "the new daemon did not re-attach the running container"
        time.sleep(0.1)
    assert rc.inspect("lxs")["pid"] == pid, "the container was restarted"
    with open(f"/proc/{pid}/mountinfo") as f:
        binds = [line.split() for line in f if line.split()[4] == "/proc/meminfo"]
    assert len(binds) == 1 and {"ro", "nosuid", "nodev", "noexec"} <= set(binds[0][5].split(","))
