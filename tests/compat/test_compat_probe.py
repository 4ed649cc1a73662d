"""Probe against recorded EL6, EL7 and cgroup v2 hosts, and against this host (live)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from compatfixtures import FIXTURES, recorded

from compat.model import HostFacts
from compat.probe import cache_key, host_facts, parse_mountinfo, probe


def test_el6_profile(el6):
    assert el6.kernel_release == "2.6.32-754.35.1.el6.x86_64"
    assert el6.kernel_version() == (2, 6)
    assert el6.cgroup_mode == "v1" and el6.cgroup_v2_mount is None
    assert el6.cgroup_v1_mounts["memory"] == "/cgroup/memory"
    assert el6.details["cgroup.v1"] == "/cgroup"
    assert el6.controllers["ns"] is True and "pids" not in el6.controllers
    f = el6.features
    assert f["cgroup.pids"] is False and f["cgroup.memsw"] is True and f["cgroup.kmem"] is False
    assert f["cgroup.cfs_quota"] is True and f["cgroup.name_systemd"] is False
    assert f["ns.mnt.proc"] is False and f["ns.pid.proc"] is True and f["ns.pid.open"] is False
    assert f["ns.pid.unshare"] is False and f["ns.pid.clone"] is True and f["ns.net.setns"] is True
    assert f["ns.mnt.setns"] is False and f["ns.user.setns"] is False
    assert f["fs.overlay"] is False and f["sec.seccomp_filter"] is False and f["sys.child_subreaper"] is False
    assert f["net.bridge_netlink"] is False and f["net.bridge_ioctl"] is True
    assert el6.max_user_namespaces is None and el6.vsyscall == "emulate"
    assert set(el6.runtimes) == {"legacy"}


def test_el7_profile(el7):
    assert el7.cgroup_mode == "v1"
    assert el7.cgroup_v1_mounts["cpu"] == "/sys/fs/cgroup/cpu,cpuacct"
    assert el7.cgroup_v1_mounts["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct"
    assert el7.cgroup_v1_mounts["name=systemd"] == "/sys/fs/cgroup/systemd"
    f = el7.features
    assert f["cgroup.cfs_quota"] is True and f["cgroup.pids"] is True and f["cgroup.kmem"] is True
    assert f["ns.cgroup.proc"] is False and f["ns.cgroup.unshare"] is False
    assert f["ns.user.proc"] is True and f["ns.user.unshare"] is False and f["ns.user.setns"] is False
    assert f["ns.pid.unshare"] is True and f["ns.mnt.setns"] is True and f["fs.overlay"] is True
    assert f["sec.seccomp_filter"] is True
    assert el7.max_user_namespaces == 0
    assert el7.runtimes["runc"] == "/usr/bin/runc" and el7.runtime_versions["runc"] == "1.1.12"


def test_v2_profile(v2):
    assert v2.cgroup_mode == "v2" and v2.cgroup_v2_mount == "/sys/fs/cgroup"
    assert "pids" in v2.cgroup_v2_controllers
    f = v2.features
    assert f["cgroup.v1"] is False and f["cgroup.pids"] is True and f["cgroup.memsw"] is True
    assert f["cgroup.kmem"] is False and f["cgroup.cfs_quota"] is True
    assert v2.vsyscall == "xonly"


def test_missing_files_are_not_errors(tmp_path):
    facts = probe(root=os.fspath(tmp_path), live=False)
    assert facts.cgroup_mode == "none" and facts.kernel_release == ""
    assert facts.features["fs.overlay"] is False and facts.vsyscall in ("unknown", "n/a")


def test_parse_mountinfo_handles_optional_fields_and_spaces():
    text = ("36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n"
            "garbage line\n")
    assert parse_mountinfo(text) == [("/mnt/with space", "ext3", "rw,errors=continue")]


def test_to_dict_round_trip(el7):
    again = HostFacts.from_dict(json.loads(json.dumps(el7.to_dict())))
    assert again == el7


def test_cache_hit_miss_and_corruption(tmp_path):
    root = tmp_path / "host"
    shutil.copytree(FIXTURES / "el7", root)
    cache = tmp_path / "cache"
    first = host_facts(cache_dir=os.fspath(cache), root=os.fspath(root))
    files = list(cache.iterdir())
    assert len(files) == 1
    doc = json.loads(files[0].read_text())
    assert doc["key"] == cache_key(os.fspath(root))
    # A hit does not look at the host again: change the host, the cached answer stays.
    (root / "proc/sys/user/max_user_namespaces").write_text("15000\n")
    assert host_facts(cache_dir=os.fspath(cache), root=os.fspath(root)) == first
    # A new boot id invalidates the cache.
    (root / "proc/sys/kernel/random/boot_id").write_text("another-boot\n")
    assert host_facts(cache_dir=os.fspath(cache), root=os.fspath(root)).max_user_namespaces == 15000
    files[0].write_text("{not json")
    assert host_facts(cache_dir=os.fspath(cache), root=os.fspath(root)).max_user_namespaces == 15000


def test_unwritable_cache_dir_is_not_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    facts = host_facts(cache_dir=os.fspath(blocker / "sub"), root=os.fspath(FIXTURES / "el6"))
    assert facts.kernel_release.startswith("2.6.32")


@pytest.mark.integration
def test_this_host_live():
    if os.geteuid() != 0:
        pytest.skip("live probes need root (namespaces, mounts)")
    facts = probe()
    assert facts.kernel_release == os.uname().release
    with open("/proc/self/mountinfo") as fh:
        info = parse_mountinfo(fh.read())
    has_v2 = any(t == "cgroup2" for _, t, _ in info)
    has_v1 = any(t == "cgroup" and "name=" not in o.split(",")[-1] for _, t, o in info)
    assert facts.features["cgroup.v2"] is has_v2
    assert facts.cgroup_mode == ("hybrid" if has_v1 and has_v2 else "v2" if has_v2 else "v1" if has_v1 else "none")
    assert facts.kernel_version() >= (3, 8)
    for ns in ("mnt", "uts", "ipc", "net", "pid"):
        assert facts.features[f"ns.{ns}.unshare"] is True, ns
        assert facts.features[f"ns.{ns}.setns"] is True, ns
    assert facts.features["ns.pid.clone"] is True
    assert facts.features["sys.memfd_create"] is True and facts.features["sec.seccomp_filter"] is True
    for name in ("runc", "crun"):
        assert (name in facts.runtimes) is (shutil.which(name) is not None)
    assert os.path.exists(facts.runtimes["legacy"])
    # nothing left behind in the storage dir
    assert not [p for p in os.listdir("/var/tmp") if p.startswith(".rcprobe-")]


@pytest.mark.integration
def test_host_facts_cache_is_cheap(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("live probes need root")
    first = host_facts(cache_dir=os.fspath(tmp_path))
    second = host_facts(cache_dir=os.fspath(tmp_path))
    assert first == second


def test_recorded_helper_matches_fixture_tree():
    assert recorded("el6").root.endswith("fixtures/el6")
