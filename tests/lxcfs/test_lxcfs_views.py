"""Unit tests of the pure renderers and parsers (no FUSE, no cgroups)."""

from __future__ import annotations

import os

from lxcfs_py import views
from lxcfs_py.caller import InitResolver
from lxcfs_py.cgroup import parse_mountinfo, parse_proc_cgroup, prune_init_slice

HOST_MEM = """MemTotal:       24683792 kB
MemFree:        24028436 kB
MemAvailable:   24292780 kB
Buffers:            1000 kB
Cached:           500000 kB
SwapCached:            0 kB
Active:           200000 kB
Mlocked:           10292 kB
SwapTotal:       1048576 kB
SwapFree:        1048576 kB
AnonHugePages:         0 kB
"""


def _kv(text):
    return {ln.split(":")[0]: int(ln.split()[1]) for ln in text.splitlines()}


def test_meminfo_limit_and_no_wraparound():
    m = views.MemInputs(usage=300 << 20, limit=256 << 20, stat={"total_cache": 10 << 20},
                        memsw_limit=256 << 20, memsw_usage=100 << 20)
    out = _kv(views.render_meminfo(HOST_MEM, m))
    assert out["MemTotal"] == 262144
    assert out["MemFree"] == 0                      # usage > limit: clamp, never 2^64
    assert out["SwapFree"] >= 0 and out["SwapFree"] < 1 << 40   # lxcfs#115
    assert out["Buffers"] == 0 and out["Mlocked"] == 10292      # host line copied verbatim
    assert "MemTotal:         262144 kB\n" in views.render_meminfo(HOST_MEM, m)


def test_meminfo_unlimited_is_host_total():
    m = views.MemInputs(usage=1 << 20, limit=0, stat={})
    assert _kv(views.render_meminfo(HOST_MEM, m))["MemTotal"] == 24683792


def test_swap_v1_formula_and_swappiness_zero():
    m = views.MemInputs(usage=100 << 20, limit=256 << 20, stat={}, memsw_limit=512 << 20,
                        memsw_usage=150 << 20)
    out = _kv(views.render_meminfo(HOST_MEM, m))
    assert out["SwapTotal"] == min(1048576, 256 * 1024 + 262144)
    assert out["SwapFree"] == out["SwapTotal"] - 50 * 1024
    m.swappiness = 0
    assert _kv(views.render_meminfo(HOST_MEM, m))["SwapTotal"] == 50 * 1024
    swaps = views.render_swaps(HOST_MEM, m)
    assert swaps.startswith("Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n")
    assert "none" + " " * 36 + "virtual\t\t51200\t51200\t0\n" in swaps


def test_memory_stat_exact_keys():
    st = views.parse_memory_stat("total_rss 10\ntotal_rss_huge 4096\ntotal_cache 5\n", False)
    assert st["total_rss_huge"] == 4096 and st["total_rss"] == 10
    st2 = views.parse_memory_stat("file 100\nfile_mapped 7\nanon 3\n", True)
    assert st2["total_cache"] == 100 and st2["total_mapped_file"] == 7


def test_cpuset_parsing_huge_and_odd():
    assert views.parse_cpuset("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11]
    assert len(views.parse_cpuset("0-100000")) == 1 << 16
    assert views.parse_cpuset("garbage,5-2,") == []


def test_cfs_count():
    assert views.cfs_cpu_count(50000, 100000, 2, 2) == 1
    assert views.cfs_cpu_count(150000, 100000, 4, 8) == 2
    assert views.cfs_cpu_count(-1, 100000, 3, 8) == 3
    assert views.render_online("0-1", 1) == "0\n" and views.render_online("0-3", 3) == "0-2\n"


HOST_STAT = """cpu  300 0 300 1000 0 0 0 0 0 0
cpu0 100 0 100 500 0 0 0 0 0 0
cpu1 200 0 200 500 0 0 0 0 0 0
intr 5 1 2
ctxt 99
btime 1700000000
"""


def test_stat_idle_never_wraps():
    u = views.CpuUsage(user={1: 10**9}, system={1: 10**9})   # more than the host says (#311)
    out = views.render_stat(HOST_STAT, [1], u)
    cpu1 = out.splitlines()[1].split()
    assert cpu1[0] == "cpu1" and int(cpu1[4]) == 500          # idle = host idle, no 2^64
    assert out.splitlines()[0] == f"cpu  {10**9} 0 {10**9} 500 0 0 0 0 0 0"
    assert out.endswith("intr 5 1 2\nctxt 99\nbtime 1700000000\n")


def test_stat_cfs_fold_and_v2_usage():
    u = views.usage_from_cpu_stat("usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n",
                                  [0, 1], 100)
    assert u.user == {0: 100, 1: 100} and u.system == {0: 50, 1: 50}
    out = views.render_stat(HOST_STAT, [0, 1], u, max_cpus=1).splitlines()
    assert [ln.split()[0] for ln in out[:3]] == ["cpu", "cpu0", "intr"]
    assert out[1].split()[1] == "200"      # both CPUs' user time folded into cpu0


def test_cpuinfo_renumbers():
    host = "processor\t: 0\nmodel\t: x\n\nprocessor\t: 1\nmodel\t: y\n\n"
    assert views.render_cpuinfo(host, [1], None) == "processor\t: 0\nmodel\t: y\n\n"
    assert views.render_cpuinfo(host, [0, 1], 1).count("processor") == 1


def test_uptime_and_loadavg_format():
    assert views.render_uptime(10.0, 25.0) == "10.00 10.00\n"
    assert views.render_uptime(10.0, 2.5) == "10.00 7.50\n"
    a = views.calc_load(0, views.EXP_1, 2)
    assert views.render_loadavg((0, 0, 0), 0, 1, 42) == "0.00 0.00 0.00 0/1 42\n"
    assert views.render_loadavg((a, a, a), 2, 5, 9).startswith("0.")


def test_cgroup_parsers():
    v1, v2 = parse_mountinfo(
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
    assert v1 == {"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct"}
    assert v2 == "/sys/fs/cgroup/unified"
    c1, c2 = parse_proc_cgroup("4:memory:/a/b\n2:cpu,cpuacct:/c\n0::/d/init.scope\n")
    assert c1["cpuacct"] == "/c" and prune_init_slice(c2) == "/d"
    assert prune_init_slice("/init.scope") == "/"


def test_resolver_own_namespace_and_gone_pid():
    r = InitResolver()
    assert r.init_of(os.getpid()) == (1, True)
    assert r.view_pid(os.getpid()) == os.getpid()
    assert r.init_of(2 ** 22 + 12345) == (0, False)           # no such pid: never trusted
