"""Fixtures for the compat tests: recorded hosts (EL6, EL7, cgroup v2)."""

from __future__ import annotations

import pytest

from compat.model import HostFacts
from compatfixtures import recorded, tweak


@pytest.fixture(scope="session")
def el6() -> HostFacts:
    return recorded("el6")


@pytest.fixture(scope="session")
def el7() -> HostFacts:
    return recorded("el7")


@pytest.fixture(scope="session")
def v2() -> HostFacts:
    return recorded("v2")


@pytest.fixture(scope="session")
def hybrid(v2: HostFacts) -> HostFacts:
    """A modern kernel with cgroup v1 controllers and an (almost empty) cgroup2 mount, like this VM."""
    return tweak(v2, cgroup_mode="hybrid", cgroup_v2_controllers=("hugetlb",),
                 features={"cgroup.v1": True, "cgroup.name_systemd": True})
