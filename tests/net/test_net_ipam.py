"""IPAM leases: allocation rules and flock-based exclusion between processes (no kernel state)."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from hooks import ipam


def _alloc(args: tuple[str, int]) -> str:
    state_dir, i = args
    with ipam.open_leases(state_dir, "net") as db:
        return db.allocate(f"c{i}", "10.213.200.0/24", "10.213.200.1")


def test_allocates_lowest_free_skipping_gateway(tmp_path):
    with ipam.open_leases(str(tmp_path), "n") as db:
        assert db.allocate("a", "10.213.200.0/24", "10.213.200.1") == "10.213.200.2"
        assert db.allocate("b", "10.213.200.0/24", "10.213.200.1", pid=1) == "10.213.200.3"
    with ipam.open_leases(str(tmp_path), "n") as db:
        assert db.release("a")["ip"] == "10.213.200.2"
        assert db.allocate("c", "10.213.200.0/24", "10.213.200.1") == "10.213.200.2"
    data = json.loads(open(ipam.lease_path(str(tmp_path), "n")).read())
    assert set(data["leases"]) == {"b", "c"} and data["leases"]["b"]["pid"] == 1


@pytest.mark.parametrize("want, msg", [("10.213.200.1", "not usable"), ("10.213.201.5", "not usable"),
                                       ("10.213.200.255", "not usable"), ("nope", "invalid")])
def test_requested_address_is_checked(tmp_path, want, msg):
    with ipam.open_leases(str(tmp_path), "n") as db, pytest.raises(ipam.IpamError, match=msg):
        db.allocate("a", "10.213.200.0/24", "10.213.200.1", want)


def test_taken_address_and_exhaustion(tmp_path):
    with ipam.open_leases(str(tmp_path), "n") as db:
        assert db.allocate("a", "10.213.200.0/30", "10.213.200.1") == "10.213.200.2"
        with pytest.raises(ipam.IpamError, match="already in use"):
            db.allocate("b", "10.213.200.0/30", "10.213.200.1", "10.213.200.2")
        with pytest.raises(ipam.IpamError, match="no free address"):
            db.allocate("b", "10.213.200.0/30", "10.213.200.1")


def test_lease_file_removed_when_empty_and_error_drops_changes(tmp_path):
    path = ipam.lease_path(str(tmp_path), "n")
    with ipam.open_leases(str(tmp_path), "n") as db:
        db.allocate("a", "10.213.200.0/24", "10.213.200.1")
    assert os.path.exists(path)
    with pytest.raises(RuntimeError), ipam.open_leases(str(tmp_path), "n") as db:
        db.release("a")
        raise RuntimeError("setup failed")
    assert os.path.exists(path)
    with ipam.open_leases(str(tmp_path), "n") as db:
        db.release("a")
    assert not os.path.exists(path)


def test_fifty_processes_never_share_an_address(tmp_path):
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(50) as pool:
        ips = pool.map(_alloc, [(str(tmp_path), i) for i in range(50)])
    assert len(set(ips)) == 50
    with ipam.open_leases(str(tmp_path), "net") as db:
        assert len(db.leases) == 50


def test_lease_alive_uses_pid_and_start_time():
    me = os.getpid()
    assert ipam.lease_alive({"pid": me, "starttime": ipam.pid_starttime(me)})
    assert not ipam.lease_alive({"pid": me, "starttime": ipam.pid_starttime(me) + 1})
    assert not ipam.lease_alive({"pid": 2**22 + 7, "starttime": 1})
