"""Lifecycle of real runc containers: run/create/start/stop/restart/kill/rm/ps/inspect/pause/
rename/wait/top/stats, against the debootstrapped base image."""

from __future__ import annotations

import json
import os
import time

import pytest
from corelib import assert_clean, assert_one_error, proc_alive, ps_json, read_cgroup, wait_until

pytestmark = pytest.mark.integration

LOOP_TERM = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


def status(rc, name: str) -> str:  # noqa: ANN001
    return rc.inspect(name)["status"]


def test_run_detached_ps_inspect_rm(rc, base_image: str) -> None:  # noqa: ANN001
    cid = rc("run", "-d", "--name", "lc-basic", base_image, "sleep", "300").stdout.strip()
    assert len(cid) == 64
    info = rc.inspect("lc-basic")
    assert info["id"] == cid and info["status"] == "running" and info["name"] == "lc-basic"
    assert proc_alive(info["pid"]) and proc_alive(info["monitor_pid"])
    assert info["storage"] == "overlay"
    with open(f"/proc/{info['pid']}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"300"]
    running = ps_json(rc, all_=False)
    assert running["lc-basic"]["State"] == "running" and running["lc-basic"]["Id"] == cid
    table = rc("ps").stdout
    assert "lc-basic" in table and cid[:12] in table and "Up " in table
    assert cid[:12] in rc("ps", "-q").stdout.split()
    # inspect by id prefix works too
    assert rc.inspect(cid[:12])["id"] == cid
    p = rc("rm", "lc-basic", check=False)
    assert_one_error(p, code=4)
    assert status(rc, "lc-basic") == "running"
    rc("rm", "-f", "lc-basic")
    assert not proc_alive(info["pid"])
    assert_clean(rc, cid)


def test_create_then_start(rc, base_image: str) -> None:  # noqa: ANN001
    cid = rc("create", "--name", "lc-created", base_image, "sleep", "300").stdout.strip()
    assert status(rc, cid) == "created"
    assert "lc-created" not in ps_json(rc, all_=False)
    assert ps_json(rc)["lc-created"]["State"] == "created"
    assert rc("start", "lc-created").stdout.strip() == "lc-created"
    assert status(rc, "lc-created") == "running"
    assert rc("exec", "lc-created", "cat", "/proc/1/cmdline").stdout.split("\0")[0] == "sleep"
    rc("rm", "-f", cid)
    assert_clean(rc, cid)


def test_stop_graceful_and_timeout(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "lc-graceful", base_image, "sh", "-c", LOOP_TERM)
    t0 = time.monotonic()
    rc("stop", "lc-graceful")
    assert time.monotonic() - t0 < 5
    info = rc.inspect("lc-graceful")
    assert info["status"] == "exited" and info["exit_code"] == 0
    assert "lc-graceful" not in ps_json(rc, all_=False)
    assert ps_json(rc)["lc-graceful"]["Status"].startswith("Exited (0)")

    # sleep as PID 1 ignores SIGTERM: stop -t 1 escalates to SIGKILL after about a second
    rc("run", "-d", "--name", "lc-stubborn", base_image, "sleep", "300")
    pid = rc.inspect("lc-stubborn")["pid"]
    t0 = time.monotonic()
    rc("stop", "-t", "1", "lc-stubborn")
    took = time.monotonic() - t0
    assert 0.9 <= took < 10, took
    info = rc.inspect("lc-stubborn")
    assert info["status"] == "exited" and info["exit_code"] == 137
    assert not proc_alive(pid)
    # stopping again is a no-op, start brings it back
    rc("stop", "lc-stubborn")
    rc("start", "lc-stubborn")
    assert status(rc, "lc-stubborn") == "running"


def test_restart(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "lc-restart", base_image, "sh", "-c", LOOP_TERM)
    before = rc.inspect("lc-restart")
    rc("restart", "-t", "5", "lc-restart")
    after = rc.inspect("lc-restart")
    assert after["status"] == "running" and after["pid"] != before["pid"]
    assert not proc_alive(before["pid"]) and proc_alive(after["pid"])
    # restart of an exited container starts it
    rc("stop", "lc-restart")
    rc("restart", "lc-restart")
    assert status(rc, "lc-restart") == "running"


def test_kill_with_signal(rc, base_image: str) -> None:  # noqa: ANN001
    script = "trap 'echo got-usr1; exit 7' USR1; while :; do sleep 0.1; done"
    rc("run", "-d", "--name", "lc-kill", base_image, "sh", "-c", script)
    time.sleep(0.3)  # let the shell install its trap
    rc("kill", "-s", "USR1", "lc-kill")
    assert rc("wait", "lc-kill").stdout.strip() == "7"
    assert "got-usr1" in rc("logs", "lc-kill").stdout
    rc("run", "-d", "--name", "lc-kill9", base_image, "sleep", "300")
    rc("kill", "lc-kill9")  # default SIGKILL
    assert rc("wait", "lc-kill9").stdout.strip() == "137"
    rc("start", "lc-kill9")
    rc("kill", "-s", "SIGKILL", "lc-kill9")
    wait_until(lambda: status(rc, "lc-kill9") == "exited")
    assert_one_error(rc("kill", "lc-kill9", check=False), code=4)


def test_pause_unpause(rc, base_image: str) -> None:  # noqa: ANN001
    cid = rc("run", "-d", "--name", "lc-pause", base_image, "sleep", "300").stdout.strip()
    rc("pause", "lc-pause")
    assert status(rc, "lc-pause") == "paused"
    assert read_cgroup("freezer", cid, "freezer.state") == "FROZEN"
    assert ps_json(rc, all_=False)["lc-pause"]["State"] == "paused"
    assert_one_error(rc("pause", "lc-pause", check=False), code=4)
    rc("unpause", "lc-pause")
    assert status(rc, "lc-pause") == "running"
    assert read_cgroup("freezer", cid, "freezer.state") == "THAWED"
    assert rc("exec", "lc-pause", "true").returncode == 0
    # a paused container can be stopped and removed
    rc("pause", "lc-pause")
    rc("rm", "-f", "lc-pause")
    assert_clean(rc, cid)


def test_rename(rc, base_image: str) -> None:  # noqa: ANN001
    cid = rc("run", "-d", "--name", "lc-old", base_image, "sleep", "300").stdout.strip()
    rc("run", "-d", "--name", "lc-other", base_image, "sleep", "300")
    rc("rename", "lc-old", "lc-new")
    assert rc.inspect("lc-new")["id"] == cid and rc.inspect("lc-new")["name"] == "lc-new"
    assert_one_error(rc("inspect", "lc-old", check=False), code=3)
    names = ps_json(rc)
    assert "lc-new" in names and "lc-old" not in names
    assert_one_error(rc("rename", "lc-new", "lc-other", check=False), code=4)
    assert_one_error(rc("rename", "lc-new", "bad/name", check=False), code=2)
    assert rc.inspect("lc-new")["id"] == cid
    # the old name is free again
    rc("run", "-d", "--name", "lc-old", base_image, "true")


def test_wait_returns_exit_code(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "lc-wait", base_image, "sh", "-c", "sleep 1; exit 42")
    t0 = time.monotonic()
    assert rc("wait", "lc-wait").stdout.strip() == "42"
    assert time.monotonic() - t0 > 0.5
    info = rc.inspect("lc-wait")
    assert info["status"] == "exited" and info["exit_code"] == 42
    # waiting on an exited container answers at once
    assert rc("wait", "lc-wait").stdout.strip() == "42"


def test_top_and_stats(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "lc-top", base_image, "sh", "-c", "sleep 301 & sleep 302")
    wait_until(lambda: "sleep 301" in rc("top", "lc-top").stdout)
    out = rc("top", "lc-top").stdout
    assert "PID" in out.splitlines()[0] and "sleep 302" in out
    rows = json.loads(rc("stats", "--no-stream", "--format", "json", "lc-top").stdout)
    assert len(rows) == 1 and rows[0]["name"] == "lc-top"
    assert rows[0]["pids"] >= 3 and rows[0]["mem"] > 0
    table = rc("stats", "--no-stream").stdout
    assert "lc-top" in table and "CPU %" in table
    rc("stop", "-t", "0", "lc-top")
    assert_one_error(rc("top", "lc-top", check=False), code=4)


def test_foreground_run_exit_code_and_rm(rc, base_image: str) -> None:  # noqa: ANN001
    before = set(rc.ids())
    p = rc("run", "--rm", base_image, "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert p.returncode == 3 and p.stdout == "out\n" and "err" in p.stderr
    assert set(rc.ids()) == before
    p = rc("run", "--name", "lc-fg", base_image, "sh", "-c", "exit 5", check=False)
    assert p.returncode == 5
    info = rc.inspect("lc-fg")
    assert info["status"] == "exited" and info["exit_code"] == 5
    cdir = os.path.dirname(info["bundle"])
    assert not any(m.startswith(cdir) for m in open("/proc/self/mounts").read().split())


def test_poststop_runs_once_per_run_when_start_follows_stop(rc, base_image: str, tmp_path) -> None:  # noqa: ANN001
    """`stop` returns once the container exited and leaves the teardown to conmon's exit command;
    a `start` right away must still see the first run's poststop run, and exactly once."""
    log = tmp_path / "poststop.log"
    hook = tmp_path / "record.sh"
    hook.write_text(f"#!/bin/sh\necho run >> {log}\n")
    hook.chmod(0o755)
    rc("run", "-d", "--name", "lc-pst", "--network", "none", "--hook", f"poststop={hook}", base_image, "sleep", "300")
    rc("stop", "-t", "0", "lc-pst")
    assert rc.inspect("lc-pst")["status"] == "exited" and rc.inspect("lc-pst")["pid"] == 0
    rc("start", "lc-pst")
    rc("stop", "-t", "0", "lc-pst")
    rc("rm", "lc-pst")
    assert log.read_text().splitlines() == ["run", "run"]


def _status_fields(text: str) -> dict[str, str]:
    return {k: v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}


def test_secure_defaults_and_privileged_on_this_host(rc, base_image: str) -> None:  # noqa: ANN001
    """Default: podman's 11 capabilities, no-new-privileges, seccomp, masked and read-only /proc paths.
    --privileged gets every capability the host can grant (this host lacks CAP_SYS_RESOURCE) instead
    of failing in the runtime; --cap-add of one it lacks is one clear error."""
    probe = "cat /proc/self/status; echo ---; wc -c < /proc/keys; grep -E ' /proc/sys | /sys ' /proc/self/mountinfo"
    out = rc("run", "--rm", base_image, "sh", "-c", probe).stdout
    status, rest = out.split("---", 1)
    st = _status_fields(status)
    assert st["CapEff"] == f"{0x800405fb:016x}", st["CapEff"]  # podman's 11
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2"
    lines = rest.split("\n")
    assert lines[1] == "0"  # /proc/keys masked
    ro = {ln.split()[4]: ln.split()[5].split(",")[0] for ln in lines[2:] if ln.strip()}
    assert ro == {"/proc/sys": "ro", "/sys": "ro"}, ro
    with open("/proc/self/status") as f:
        host_bnd = _status_fields(f.read())["CapBnd"]
    st = _status_fields(rc("run", "--rm", "--privileged", base_image, "cat", "/proc/self/status").stdout)
    assert st["CapEff"] == st["CapBnd"] == host_bnd and st["Seccomp"] == "0"
    if not int(host_bnd, 16) >> 24 & 1:  # CAP_SYS_RESOURCE missing, as on this test host
        p = rc("run", "--rm", "--cap-add", "SYS_RESOURCE", base_image, "true", check=False)
        assert "not in this host's capability bounding set" in assert_one_error(p, code=2)
