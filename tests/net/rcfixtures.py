"""Fixtures shared by tests/net and tests/hooks (imported by their conftest.py): a busybox
rootfs, a private runc root, a private network root and nft table, and a container factory
that removes everything it made, also on failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

import rcbundle  # noqa: E402

from richcontainer import networks  # noqa: E402

TEST_TABLE = rcbundle.TEST_TABLE


def _need(tool: str) -> None:
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed")


@pytest.fixture(scope="session")
def busybox_root(tmp_path_factory) -> Path:
    if not Path("/bin/busybox").exists():
        pytest.skip("busybox-static is not installed")
    return rcbundle.make_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


@pytest.fixture
def netroot(tmp_path, monkeypatch) -> Path:
    """A private richcontainer root for network configs and leases, with its own nft table."""
    monkeypatch.setattr(networks, "NFT_TABLE", TEST_TABLE)
    root = tmp_path / "root"
    root.mkdir()
    yield root


@pytest.fixture
def containers(tmp_path, busybox_root, netroot):
    """Factory: containers(args, net=..., **spec_fragment kwargs) -> rcbundle.Container (not started)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in ("runc", "nft", "ip", "nsenter"):
        _need(tool)
    runc_root = tmp_path / "runc"
    made: list[rcbundle.Container] = []
    bridges: set[str] = set()

    def make(args: list[str] | None = None, net: str | None = "bridge", name: str | None = None,
             **kw) -> rcbundle.Container:
        cid = f"rct-{uuid.uuid4().hex[:10]}"
        c = rcbundle.Container(runc_root, tmp_path / "bundles" / cid, cid, busybox_root,
                               args or ["sleep", "600"])
        made.append(c)
        if net is not None:
            kw.setdefault("hostname", name or cid)
            frag = networks.spec_fragment(str(netroot), cid, net, etc_dir=str(c.bundle / "etc"), **kw)
            if net not in ("none", "host") and not net.startswith("container:"):
                bridges.add(networks.get_network(str(netroot), net)["bridge"])
            c.apply(frag)
        return c

    yield make
    errors = []
    for c in reversed(made):
        try:
            c.remove()
        except Exception as e:  # keep cleaning the others
            errors.append(f"{c.id}: {e}")
    try:
        networks.prune(str(netroot))
    except Exception as e:
        errors.append(f"prune: {e}")
    for br in bridges:  # last resort, only our own bridges
        if os.path.exists(f"/sys/class/net/{br}"):
            subprocess.run(["ip", "link", "del", br], capture_output=True, timeout=30)
    subprocess.run(["nft", "delete", "table", "inet", TEST_TABLE], capture_output=True, timeout=30)
    assert not errors, errors
