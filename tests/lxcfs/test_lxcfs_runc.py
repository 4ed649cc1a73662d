"""Container level: lxcfs_py files bound over /proc and /sys in raw runc busybox containers."""

from __future__ import annotations

import os

import pytest

from lxcfs_py.attach import container_mounts
from lxcfs_testlib import lxcfs_py

pytestmark = [pytest.mark.integration]


def _memtotal(text: str) -> int:
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    raise AssertionError(text)


def test_memory_limit_and_cpuset(runc_containers, daemons, tmpdir_lx):
    d = lxcfs_py(os.path.join(tmpdir_lx, "lxcfs"))
    daemons.append(d)
    cid = runc_containers.run(container_mounts(d.mount), memory=256 << 20, cpus="0")
    r = runc_containers.exec(cid, "cat", "/proc/meminfo")
    assert r.returncode == 0, r.stderr
    assert _memtotal(r.stdout) == 262144
    r = runc_containers.exec(cid, "cat", "/proc/cpuinfo")
    assert r.stdout.count("processor\t:") == 1
    assert runc_containers.exec(cid, "nproc").stdout.strip() == "1"
    assert runc_containers.exec(cid, "cat", "/sys/devices/system/cpu/online").stdout == "0\n"
    # busybox `free` takes totals from sysinfo(2) (not virtualizable by FUSE); only its
    # "available" column comes from /proc/meminfo
    free = runc_containers.exec(cid, "free").stdout.splitlines()[1].split()
    assert int(free[-1]) <= 262144, free
    for f in ("stat", "uptime", "loadavg", "swaps", "diskstats"):
        r = runc_containers.exec(cid, "cat", f"/proc/{f}")
        assert r.returncode == 0 and r.stdout, (f, r.stderr)
    up = float(runc_containers.exec(cid, "cat", "/proc/uptime").stdout.split()[0])
    assert up < 60


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two CPUs")
def test_cfs_quota_half_cpu(runc_containers, daemons, tmpdir_lx):
    d = lxcfs_py(os.path.join(tmpdir_lx, "lxcfs"))
    daemons.append(d)
    cid = runc_containers.run(container_mounts(d.mount), cpus="0-1", quota=50000, period=100000)
    assert runc_containers.exec(cid, "cat", "/sys/devices/system/cpu/online").stdout == "0\n"
    assert runc_containers.exec(cid, "cat", "/proc/cpuinfo").stdout.count("processor\t:") == 1
    stat = runc_containers.exec(cid, "cat", "/proc/stat").stdout
    assert [ln.split()[0] for ln in stat.splitlines() if ln.startswith("cpu")] == ["cpu", "cpu0"]
    # busybox/coreutils nproc count sched_getaffinity (both CPUs), not lxcfs files: not asserted
