"""`richcontainer check` output on recorded hosts and on this host."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from compatfixtures import FIXTURES, tweak

from compat.check import run_check


def table(name: str) -> tuple[str, int]:
    return run_check("table", root=os.fspath(FIXTURES / name))


def test_el6_table():
    text, code = table("el6")
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith("kernel 2.6.32-754.35.1.el6.x86_64 (") and "cgroup v1 (v1 at /cgroup)" in lines[0]
    row = next(l for l in lines if l.startswith("namespace pid "))
    assert "partial" in row and "unshare:no(EINVAL)" in row and "legacy backend" in row
    row = next(l for l in lines if l.startswith("overlayfs mount"))
    assert " no " in row and "rootfs copied instead of overlaid" in row
    assert "default plan: backend legacy, storage copy" in text
    assert "runtime legacy:" in text


def test_el7_json():
    text, code = run_check("json", root=os.fspath(FIXTURES / "el7"))
    doc = json.loads(text)
    assert code == 0 and doc["ok"] is True and doc["backend"] == "runc" and doc["storage"] == "overlay"
    assert doc["cgroup_mode"] == "v1" and doc["max_user_namespaces"] == 0
    feats = {f["key"]: f for f in doc["features"]}
    assert feats["ns.cgroup"]["found"] == "no"
    assert feats["cgroup.pids"]["found"] == "yes"
    assert doc["facts"]["kernel_release"].startswith("3.10.0-")
    assert any("cgroup namespace" in w for w in doc["warnings"])


def test_exit_code_when_nothing_can_run(el6):
    broken = tweak(el6, features={"ns.pid.clone": False})
    text, code = run_check("table", facts=broken)
    assert code == 1 and "no backend can run containers here" in text
    doc = json.loads(run_check("json", facts=broken)[0])
    assert doc["ok"] is False and doc["backend"] is None and doc["error"].startswith("no backend")


def test_bad_format():
    text, code = run_check("yaml", root=os.fspath(FIXTURES / "el6"))
    assert code == 2 and "unknown format" in text


@pytest.mark.integration
def test_this_host_check():
    if os.geteuid() != 0:
        pytest.skip("live probes need root")
    text, code = run_check()
    assert code == 0
    assert text.startswith(f"kernel {os.uname().release} (")
    assert "namespace mnt" in text and "default plan: backend " in text


@pytest.mark.integration
def test_module_entry_point_json():
    if os.geteuid() != 0:
        pytest.skip("live probes need root")
    out = subprocess.run([sys.executable, "-m", "compat.check", "--format", "json"], capture_output=True,
                         text=True, timeout=30, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["ok"] is True and doc["facts"]["kernel_release"] == os.uname().release
    if shutil.which("runc") or shutil.which("crun"):
        assert doc["backend"] in ("runc", "crun")
