"""`run` flags (env, volumes, tmpfs, user, workdir, hostname, labels, annotations, --rm, --init tini)
and resource limits, checked in the host's cgroup v1 files; `update` on a running container."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from corelib import CGROUP_BASE, assert_clean, ps_json, read_cgroup, wait_until

pytestmark = pytest.mark.integration

MiB = 1 << 20


def needs_v1(ctrl: str) -> None:
    if not (CGROUP_BASE / ctrl / "tasks").exists() and not (CGROUP_BASE / ctrl / "cgroup.procs").exists():
        pytest.skip(f"no cgroup v1 {ctrl} controller on this host")


def test_env_and_env_file(rc, base_image: str, scratch: Path) -> None:  # noqa: ANN001
    envfile = scratch / "env"
    envfile.write_text("# comment\n\nFROM_FILE=yes\nOVERRIDE=file\nPASSED\n")
    p = rc("run", "--rm", "--env-file", str(envfile), "-e", "OVERRIDE=flag", "-e", "SPACED=a b", base_image,
           "sh", "-c", 'echo "$FROM_FILE|$OVERRIDE|$SPACED|$PASSED|$HOSTNAME"', env={"PASSED": "through"})
    fields = p.stdout.strip().split("|")
    assert fields[:4] == ["yes", "flag", "a b", "through"]
    assert len(fields[4]) == 12  # the default hostname is the short id


def test_volumes_rw_and_ro(rc, base_image: str, scratch: Path) -> None:  # noqa: ANN001
    rw, ro = scratch / "rw", scratch / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "data").write_text("host-data")
    p = rc("run", "--rm", "-v", f"{rw}:/mnt/rw", "-v", f"{ro}:/mnt/ro:ro", base_image, "sh", "-c",
           "echo from-container > /mnt/rw/new; cat /mnt/ro/data; echo; "
           "if echo x > /mnt/ro/data 2>/dev/null; then echo WROTE; else echo refused; fi; "
           "touch /mnt/ro/other 2>&1; grep ' /mnt/ro ' /proc/mounts", check=False)
    assert (rw / "new").read_text() == "from-container\n"
    assert "host-data" in p.stdout and "refused" in p.stdout and "WROTE" not in p.stdout
    assert "Read-only file system" in p.stdout
    assert " ro," in p.stdout or " ro " in p.stdout
    assert (ro / "data").read_text() == "host-data" and not (ro / "other").exists()


def test_tmpfs_workdir_user_hostname(rc, base_image: str) -> None:  # noqa: ANN001
    p = rc("run", "--rm", "--tmpfs", "/scratch:size=1m", "-w", "/srv/app", "-u", "nobody", "--hostname", "box1",
           base_image, "sh", "-c", "grep ' /scratch ' /proc/mounts; pwd; id -un; hostname; cat /etc/hostname")
    lines = p.stdout.splitlines()
    assert lines[0].split()[2] == "tmpfs" and "size=1024k" in lines[0]
    assert lines[1:] == ["/srv/app", "nobody", "box1", "box1"]


def test_labels_and_annotations(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "rs-meta", "--label", "tier=web", "-l", "team=core",
       "--annotation", "org.example.k=v1", "--annotation", "io.x=y", base_image, "sleep", "300")
    assert ps_json(rc)["rs-meta"]["Labels"] == {"tier": "web", "team": "core"}
    info = rc.inspect("rs-meta")
    spec = json.loads(Path(info["bundle"], "config.json").read_text())
    assert spec["annotations"]["org.example.k"] == "v1" and spec["annotations"]["io.x"] == "y"
    state = json.loads(os.popen(f"runc --root {rc_run_root(rc)} state {info['id']}").read())
    assert state["annotations"]["org.example.k"] == "v1"


def rc_run_root(rc) -> str:  # noqa: ANN001
    from richcontainer.paths import StorePaths

    return str(StorePaths(rc.root).runc_root)


def test_rm_detached_removes_itself(rc, base_image: str) -> None:  # noqa: ANN001
    cid = rc("run", "-d", "--rm", "--name", "rs-autorm", base_image, "sh", "-c", "sleep 0.5").stdout.strip()
    wait_until(lambda: cid not in rc.ids(), timeout=30)
    assert_clean(rc, cid)
    # --rm with a stopped (by the user) container removes it as well
    cid = rc("run", "-d", "--rm", "--name", "rs-autorm2", base_image, "sleep", "300").stdout.strip()
    rc("stop", "-t", "0", "rs-autorm2")
    wait_until(lambda: cid not in rc.ids(), timeout=30)
    assert_clean(rc, cid)


def test_init_tini_is_pid1(rc, base_image: str) -> None:  # noqa: ANN001
    if not Path("/usr/bin/tini-static").exists():
        pytest.skip("tini-static is not installed")
    rc("run", "-d", "--name", "rs-tini", "--init", "tini", base_image, "sleep", "300")
    cmdline = rc("exec", "rs-tini", "cat", "/proc/1/cmdline").stdout.split("\0")
    assert cmdline[:4] == ["/dev/init", "--", "sleep", "300"]
    exe_size = int(rc("exec", "rs-tini", "stat", "-L", "-c", "%s", "/proc/1/exe").stdout)
    assert exe_size == Path("/usr/bin/tini-static").stat().st_size
    # tini forwards SIGTERM to its child, so stop is quick and clean
    rc("stop", "-t", "5", "rs-tini")
    assert rc.inspect("rs-tini")["exit_code"] == 143


def test_resource_flags_reach_the_cgroup(rc, base_image: str) -> None:  # noqa: ANN001
    for ctrl in ("memory", "cpu", "cpuset", "pids"):
        needs_v1(ctrl)
    cid = rc("run", "-d", "--name", "rs-limits", "-m", "64m", "--memory-swap", "128m", "--cpus", "0.5",
             "--cpuset-cpus", "0", "--cpu-shares", "512", "--pids-limit", "50", base_image, "sleep", "300").stdout.strip()
    assert int(read_cgroup("memory", cid, "memory.limit_in_bytes")) == 64 * MiB
    memsw = CGROUP_BASE / "memory/richcontainer" / cid / "memory.memsw.limit_in_bytes"
    if memsw.exists():
        assert int(memsw.read_text()) == 128 * MiB
    assert read_cgroup("cpu", cid, "cpu.cfs_quota_us") == "50000"
    assert read_cgroup("cpu", cid, "cpu.cfs_period_us") == "100000"
    assert read_cgroup("cpu", cid, "cpu.shares") == "512"
    assert read_cgroup("cpuset", cid, "cpuset.cpus") == "0"
    assert read_cgroup("pids", cid, "pids.max") == "50"
    # the pid limit bites inside the container
    p = rc("exec", "rs-limits", "sh", "-c", "for i in $(seq 80); do sleep 5 & done; wait", check=False)
    assert "fork" in p.stderr.lower() or "resource" in p.stderr.lower() or p.returncode != 0
    # the container sees its own cgroup as the root (cgroup namespace)
    assert rc("exec", "rs-limits", "cat", "/proc/self/cgroup").stdout.count(cid) == 0


def test_update_running_container(rc, base_image: str) -> None:  # noqa: ANN001
    for ctrl in ("memory", "cpu", "cpuset", "pids"):
        needs_v1(ctrl)
    ncpu = os.cpu_count() or 1
    cid = rc("run", "-d", "--name", "rs-update", "-m", "64m", base_image, "sleep", "300").stdout.strip()
    rc("update", "-m", "96m", "--memory-swap", "192m", "--cpus", "0.25", "--pids-limit", "77",
       "--cpuset-cpus", "0" if ncpu == 1 else f"{ncpu - 1}", "--cpu-shares", "256", "rs-update")
    assert int(read_cgroup("memory", cid, "memory.limit_in_bytes")) == 96 * MiB
    assert read_cgroup("cpu", cid, "cpu.cfs_quota_us") == "25000"
    assert read_cgroup("cpu", cid, "cpu.shares") == "256"
    assert read_cgroup("pids", cid, "pids.max") == "77"
    assert read_cgroup("cpuset", cid, "cpuset.cpus") == ("0" if ncpu == 1 else f"{ncpu - 1}")
    res = rc.inspect("rs-update")["config"]["resources"]
    assert res["memory"] == 96 * MiB and res["cpus"] == 0.25 and res["pids_limit"] == 77
    assert rc.inspect("rs-update")["status"] == "running"
    # the new limits survive a restart (they are saved in the config)
    rc("restart", "-t", "0", "rs-update")
    assert int(read_cgroup("memory", cid, "memory.limit_in_bytes")) == 96 * MiB
    assert read_cgroup("pids", cid, "pids.max") == "77"
