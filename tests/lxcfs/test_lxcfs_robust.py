"""Odd callers and read protocol: never hang, never die."""

from __future__ import annotations

import os
import subprocess
import sys
import json

import pytest

from lxcfs_testlib import READER, lxcfs_py, read_in_pidns

pytestmark = [pytest.mark.integration]


@pytest.fixture
def pyfs(need_fuse, daemons, tmpdir_lx):
    d = lxcfs_py(os.path.join(tmpdir_lx, "py"))
    daemons.append(d)
    return d


def test_offset_reads_slice_one_rendering(pyfs):
    path = os.path.join(pyfs.mount, "proc/meminfo")
    fd = os.open(path, os.O_RDONLY)
    try:
        head = os.pread(fd, 7, 0)
        rest = b""
        off = 7
        while chunk := os.pread(fd, 5, off):
            rest += chunk
            off += len(chunk)
        whole = head + rest
        assert whole.startswith(b"MemTotal:") and whole.endswith(b"kB\n")
        with pytest.raises(OSError):
            os.pread(fd, 10, len(whole) + 100)          # past the end: EINVAL, like lxcfs
    finally:
        os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert os.pread(fd, 10, 20) == b""              # nothing rendered yet: EOF
    finally:
        os.close(fd)


def test_host_caller_in_root_cgroup_and_listing(pyfs):
    for f in ("meminfo", "cpuinfo", "stat", "uptime", "loadavg", "swaps", "diskstats"):
        with open(os.path.join(pyfs.mount, "proc", f)) as fh:
            assert fh.read()
    assert sorted(os.listdir(os.path.join(pyfs.mount, "proc"))) == sorted(
        ["cpuinfo", "meminfo", "stat", "uptime", "diskstats", "swaps", "loadavg"])
    cpu = os.listdir(os.path.join(pyfs.mount, "sys/devices/system/cpu"))
    assert cpu.count("online") == 1 and "cpu0" in cpu
    with open(os.path.join(pyfs.mount, "sys/devices/system/cpu/kernel_max")) as fh:
        assert fh.read().strip().isdigit()
    with pytest.raises(OSError):
        open(os.path.join(pyfs.mount, "proc/meminfo"), "w")


def test_hundred_concurrent_readers(pyfs, cgroups):
    cg = cgroups(memory=512 << 20)
    paths = [os.path.join(pyfs.mount, "proc", f) for f in ("meminfo", "stat", "cpuinfo", "uptime")]

    # 100 processes started from the main thread (util-linux unshare dislikes the signal mask
    # of Python worker threads), all reading at once
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable, "-c",
            READER, *paths]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, preexec_fn=cg.join)
             for _ in range(100)]
    try:
        outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
    for o in outs:
        assert "MemTotal:         524288 kB" in o[paths[0]]


def test_setns_joined_caller_and_gone_init(pyfs, cgroups):
    """A process that joined a pid namespace with setns (parent outside it) is resolved by the
    slow path; after the namespace's init is gone a new namespace is never confused with it."""
    cg = cgroups(memory=300 << 20)
    holder = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "sleep", "60"],
                              preexec_fn=cg.join)
    try:
        import time
        for _ in range(100):
            kids = subprocess.run(["pgrep", "-P", str(holder.pid)], capture_output=True,
                                  text=True).stdout.split()
            if kids:
                break
            time.sleep(0.05)
        init = int(kids[0])
        r = subprocess.run(["nsenter", "-t", str(init), "-p", "--", sys.executable, "-c",
                            f"print(open('{pyfs.mount}/proc/meminfo').read())"],
                           capture_output=True, text=True, timeout=30)
        assert "MemTotal:         307200 kB" in r.stdout, r.stderr
    finally:
        holder.kill()
        holder.wait(10)
    out = read_in_pidns(cg, [os.path.join(pyfs.mount, "proc/uptime")])
    assert float(next(iter(out.values())).split()[0]) < 5
