"""Old-kernel emulation: probe and planner under the el6/el7 seccomp profiles (real syscalls, fake answers)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from compatfixtures import FIXTURES

from compat.emulate import PROFILES, build_filter

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, os, sys
from compat.probe import probe
from compat.plan import plan
from compat.errors import CompatError
from compat.model import ContainerRequest, GuestInfo
root = sys.argv[1]
facts = probe(root=root, live=True)
out = {"uname": os.uname().release, "facts": facts.to_dict()}
guests = {
    "centos6": GuestInfo(init="upstart", distro_id="centos", distro_version="6.10", glibc_version="2.12"),
    "centos7": GuestInfo(init="systemd", systemd_version=219, distro_id="centos", distro_version="7",
                         glibc_version="2.17"),
}
for name, guest in guests.items():
    try:
        out[name] = plan(ContainerRequest(pids_limit=50), facts, guest).to_dict()
    except CompatError as exc:
        out[name] = {"error": exc.message}
print(json.dumps(out))
"""


def emulate(profile: str, root: str) -> dict:
    if os.geteuid() != 0:
        pytest.skip("installing a seccomp filter without no_new_privs needs root")
    if os.uname().machine != "x86_64":
        pytest.skip("the emulation filter is written for x86_64")
    if profile == "el6" and shutil.which("setarch") is None:
        pytest.skip("setarch (util-linux) is missing")
    out = subprocess.run([sys.executable, "-m", "compat.emulate", "--profile", profile, "--",
                          sys.executable, "-c", SCRIPT, root], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_filter_shape():
    for rules in PROFILES.values():
        code = build_filter(rules)
        assert len(code) % 8 == 0 and len(code) // 8 < 256


@pytest.mark.integration
def test_el6_profile_with_recorded_proc():
    out = emulate("el6", os.fspath(FIXTURES / "el6"))
    assert out["uname"].startswith("2.6.")
    f = out["facts"]["features"]
    assert f["ns.pid.unshare"] is False and f["ns.user.unshare"] is False and f["ns.cgroup.unshare"] is False
    assert f["ns.mnt.setns"] is False and f["ns.pid.setns"] is False and f["ns.net.setns"] is True
    assert f["ns.pid.clone"] is True and f["ns.mnt.unshare"] is True and f["ns.net.unshare"] is True
    for key in ("sys.memfd_create", "sys.o_tmpfile", "sys.child_subreaper", "sec.no_new_privs",
                "sec.seccomp_filter", "sec.seccomp_syscall", "fs.overlay", "cgroup.pids"):
        assert f[key] is False, key
    assert out["facts"]["kernel_release"].startswith("2.6.32-")
    plan6 = out["centos6"]
    assert plan6["backend"] == "legacy" and plan6["storage"] == "copy" and plan6["pids_limit"] is False
    assert any("unshare(CLONE_NEWPID)" in w for w in plan6["warnings"])
    assert out["centos7"]["error"].startswith("systemd 219 cannot boot on this host")


@pytest.mark.integration
def test_el6_profile_on_this_hosts_proc():
    """Without a recorded tree the syscall answers alone still push the planner to the legacy backend."""
    out = emulate("el6", "/")
    assert out["facts"]["kernel_release"].startswith("2.6.")
    assert out["centos6"]["backend"] == "legacy"
    assert "error" in out["centos7"]


@pytest.mark.integration
def test_el7_profile():
    out = emulate("el7", os.fspath(FIXTURES / "el7"))
    f = out["facts"]["features"]
    assert f["ns.pid.unshare"] is True and f["ns.mnt.setns"] is True and f["ns.pid.setns"] is True
    assert f["ns.user.unshare"] is False and f["ns.cgroup.unshare"] is False
    assert f["sys.memfd_create"] is True and f["sec.seccomp_filter"] is True
    assert out["facts"]["cgroup_mode"] == "v1"
    plan7 = out["centos7"]
    assert plan7["backend"] == "runc" and plan7["cgroupns"] is False and plan7["extra_env"] == {}
    assert plan7["warnings"] == ["cgroup namespace missing (Linux 4.6): dropped, the guest sees host cgroup paths"]
