"""Fixtures for lxcfs_py tests: test cgroups and FUSE daemons, always cleaned up."""

from __future__ import annotations

import shutil
import tempfile

import pytest

from lxcfs_testlib import ScratchCgroup, can_fuse


@pytest.fixture
def need_fuse():
    if not can_fuse():
        pytest.skip("needs root and /dev/fuse")


@pytest.fixture
def tmpdir_lx():
    d = tempfile.mkdtemp(prefix="lxcfs_py_test_")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def cgroups(need_fuse):
    """Factory of test cgroups; removes them (after their processes are gone)."""
    made: list[ScratchCgroup] = []

    def make(**kw) -> ScratchCgroup:
        cg = ScratchCgroup(**kw)
        made.append(cg)
        return cg
    try:
        yield make
    finally:
        for cg in made:
            cg.remove()


@pytest.fixture
def daemons(tmpdir_lx):
    """Collects started daemons and stops each by PID at the end, before tmpdir_lx (their
    mount points live there) is removed."""
    started = []
    try:
        yield started
    finally:
        for d in reversed(started):
            d.stop()


@pytest.fixture
def runc_containers(need_fuse, tmpdir_lx):
    from lxcfs_testlib import RuncContainers, have_runc
    if not have_runc():
        pytest.skip("runc or busybox-static is not installed")
    rc = RuncContainers(tmpdir_lx)
    try:
        yield rc
    finally:
        rc.delete_all()
