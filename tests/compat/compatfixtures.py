"""Shared data and helpers of the compat tests (a uniquely named module: `conftest` is ambiguous)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from compat.model import GuestInfo, HostFacts
from compat.probe import probe

FIXTURES = Path(__file__).parent / "fixtures"


def imagecache():
    """The lead's tests/imagecache.py module (tests/ is not a package)."""
    import importlib
    import sys
    tests_dir = os.fspath(Path(__file__).resolve().parents[1])
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    return importlib.import_module("imagecache")


def recorded(name: str) -> HostFacts:
    """HostFacts of a recorded host (file probes on the fixture tree + its recorded syscall results)."""
    return probe(root=os.fspath(FIXTURES / name), live=False)


def tweak(facts: HostFacts, features: dict | None = None, **changes) -> HostFacts:
    """A copy of FACTS with some features and fields changed."""
    if features:
        changes["features"] = {**facts.features, **features}
    return dataclasses.replace(facts, **changes)


def systemd_guest(version: int | None, distro: str = "debian", ver: str = "12", glibc: str = "2.36") -> GuestInfo:
    return GuestInfo(init="systemd", init_path="/sbin/init", systemd_version=version, distro_id=distro,
                     distro_version=ver, glibc_version=glibc)


CENTOS5 = GuestInfo(init="sysvinit", init_path="/sbin/init", distro_id="centos", distro_version="5.11",
                    distro_like=("rhel", "fedora"), glibc_version="2.5")
CENTOS6 = GuestInfo(init="upstart", init_path="/sbin/init", distro_id="centos", distro_version="6.10",
                    distro_like=("rhel", "fedora"), glibc_version="2.12")
CENTOS7 = GuestInfo(init="systemd", init_path="/sbin/init", systemd_version=219, distro_id="centos",
                    distro_version="7", distro_like=("rhel", "fedora"), glibc_version="2.17")
DEBIAN12_SYSV = GuestInfo(init="sysvinit", init_path="/sbin/init", distro_id="debian", distro_version="12",
                          glibc_version="2.36")
