"""kill -9 of the daemon while three containers run: supervisor restarts it, re-attaches."""

from __future__ import annotations

import os
import signal
import time

import pytest

from lxcfs_py import mounts, supervise
from lxcfs_py.attach import container_mounts, reattach

pytestmark = [pytest.mark.integration]


def _pid(path: str) -> int:
    with open(path) as f:
        return int(f.read().split()[0])


@pytest.fixture
def supervised(need_fuse, tmpdir_lx):
    mnt, state = os.path.join(tmpdir_lx, "lxcfs"), os.path.join(tmpdir_lx, "state")
    try:
        sup = supervise.ensure_running(mnt, state)
        yield mnt, state, sup
    finally:
        supervise.stop(state)


def test_ensure_running_is_idempotent(supervised):
    mnt, state, sup = supervised
    assert supervise.ensure_running(mnt, state) == sup
    assert mounts.is_healthy(mnt)


def test_kill9_restart_reattach(supervised, runc_containers):
    mnt, state, sup = supervised
    cids = [runc_containers.run(container_mounts(mnt), memory=(128 + 32 * i) << 20)
            for i in range(3)]
    inits = {c: runc_containers.init_pid(c) for c in cids}
    for i, c in enumerate(cids):
        assert f"{(128 + 32 * i) * 1024} kB" in runc_containers.exec(c, "head", "-1", "/proc/meminfo").stdout
    old = _pid(os.path.join(state, "daemon.pid"))
    os.kill(old, signal.SIGKILL)
    # wait for the supervisor's restart (a new daemon pid with a healthy mount)
    end = time.monotonic() + 20
    while time.monotonic() < end:
        try:
            new = _pid(os.path.join(state, "daemon.pid"))
        except (OSError, ValueError, IndexError):
            new = old
        if new != old and mounts.is_healthy(mnt):
            break
        time.sleep(0.05)
    else:
        pytest.fail("daemon was not restarted")
    restarted = time.monotonic()
    pending = set(cids)
    while pending and time.monotonic() - restarted < 5:
        for i, c in enumerate(cids):
            if c in pending:
                r = runc_containers.exec(c, "head", "-1", "/proc/meminfo")
                if r.returncode == 0 and f"{(128 + 32 * i) * 1024} kB" in r.stdout:
                    pending.discard(c)
        time.sleep(0.1)
    assert not pending, f"not re-attached within 5 s: {pending}"
    assert {c: runc_containers.init_pid(c) for c in cids} == inits, "containers were restarted"
    live = [m for m, t, _ in mounts.mountinfo() if t == mounts.FSTYPE and m == os.path.realpath(mnt)]
    assert len(live) == 1 and mounts.is_healthy(mnt), "stale or stacked mount left on the host"
    assert supervise.ensure_running(mnt, state) == sup


def test_reattach_is_idempotent(supervised, runc_containers):
    mnt, _state, _sup = supervised
    cid = runc_containers.run(container_mounts(mnt), memory=200 << 20)
    pid = runc_containers.init_pid(cid)
    reattach(pid, mnt)
    reattach(pid, mnt)
    depth = [m for m, t, _ in mounts.mountinfo(pid) if m == "/proc/meminfo" and t.startswith("fuse")]
    assert len(depth) == 1
    assert "204800 kB" in runc_containers.exec(cid, "head", "-1", "/proc/meminfo").stdout


def test_supervisor_and_daemon_killed_next_ensure_repairs(need_fuse, tmpdir_lx):
    """kill -9 of supervisor and daemon together leaves a dead FUSE mount (ENOTCONN);
    the next ensure_running() starts a new pair on a fresh mount instead of failing."""
    mnt, state = os.path.join(tmpdir_lx, "lxcfs"), os.path.join(tmpdir_lx, "state")
    try:
        sup = supervise.ensure_running(mnt, state)
        daemon = _pid(os.path.join(state, "daemon.pid"))
        for pid in (sup, daemon):
            os.kill(pid, signal.SIGKILL)
        end = time.monotonic() + 10
        while time.monotonic() < end and not mounts.is_stale(mnt):
            time.sleep(0.05)
        assert mounts.is_lxcfs_mounted(mnt) and mounts.is_stale(mnt), "expected a dead mount"
        new = supervise.ensure_running(mnt, state)
        assert new != sup and mounts.is_healthy(mnt)
        live = [m for m, t, _ in mounts.mountinfo() if t == mounts.FSTYPE and m == os.path.realpath(mnt)]
        assert len(live) == 1, "stale or stacked mount left on the host"
    finally:
        supervise.stop(state)
