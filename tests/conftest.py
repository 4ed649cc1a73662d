"""Shared fixtures: a scratch richcontainer store per test session, the CLI, a base image.

Every container a test makes is removed after it (also on failure); the session's forkserver is
stopped by PID; the scratch store's mounts and directories are removed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from rctest import rc_binary  # noqa: E402  (shared helpers live in a uniquely named module)


class RC:
    """Runs the richcontainer CLI against one scratch store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "RICHCONTAINER_ROOT": str(root),
                    "RICHCONTAINER_LXCFS_MOUNT": str(root / "lxcfs")}

    def __call__(self, *args: str, check: bool = True, timeout: float = 120, input: str | None = None,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([*rc_binary(), *args], capture_output=True, text=True, timeout=timeout,
                           input=input, env={**self.env, **(env or {})},
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"richcontainer {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def ids(self) -> list[str]:
        out = self("ps", "-a", "--format", "json").stdout
        return [c["Id"] for c in json.loads(out)]

    def inspect(self, name: str) -> dict:
        return json.loads(self("inspect", name).stdout)[0]


def _runroot(root: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from richcontainer.paths import StorePaths

    return StorePaths(root).run


def _stop_forkservers(run: Path) -> None:
    for pidfile in run.glob("forkserver-*.sock.pid"):
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pidfile.read_text()), signal.SIGTERM)


def _unmount_below(path: Path) -> None:
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp.startswith(str(path) + "/"):
                mounts.append(mp)
    for mp in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], check=False, capture_output=True)


@pytest.fixture(scope="session")
def rc_root() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    root = Path(tempfile.mkdtemp(prefix="rc-test-", dir="/var/tmp"))
    yield root
    rc = RC(root)
    with contextlib.suppress(Exception):
        for cid in rc.ids():
            rc("rm", "-f", cid, check=False)
    rc("network", "prune", check=False)
    rc("lxcfs", "stop", check=False)
    run = _runroot(root)
    try:
        leftovers = _reclaim_leftovers(root)  # without the CLI: a broken CLI must not leak into the host
    finally:
        _stop_forkservers(run)
        _unmount_below(root)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(run, ignore_errors=True)
    assert not leftovers, f"rm -f and network prune left these behind: {leftovers}"


def _reclaim_leftovers(root: Path) -> list[str]:
    """Remove what the CLI did not: the store's runtime containers (and their monitors), veths,
    bridges and NAT entries. Returns what it had to remove."""
    from hooks import nft
    from hooks.network import veth_name
    from richcontainer.monitor import monitors_of
    from richcontainer.networks import NFT_TABLE, network_configs, network_leases
    from richcontainer.paths import StorePaths

    paths = StorePaths(root)
    found = []
    runc_root = paths.runc_root
    for cid in sorted(os.listdir(runc_root)) if runc_root.is_dir() else []:
        found.append(f"runtime container {cid[:12]}")
        for pid in monitors_of(cid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        subprocess.run(["runc", "--root", str(runc_root), "delete", "--force", cid], capture_output=True,
                       timeout=60, check=False)
    for cfg in network_configs(str(root)):
        for cid in network_leases(str(root), cfg["name"]):
            found.append(f"lease of {cid[:12]} on {cfg['name']}")
            subprocess.run(["ip", "link", "del", veth_name(cid)], capture_output=True, timeout=30, check=False)
        if Path("/sys/class/net", cfg["bridge"]).exists():
            found.append(f"bridge {cfg['bridge']}")
            subprocess.run(["ip", "link", "del", cfg["bridge"]], capture_output=True, timeout=30, check=False)
        if cfg["subnet"] in nft.list_table(NFT_TABLE).get("nets", []):
            found.append(f"NAT entry {cfg['subnet']}")
            nft.remove_network(NFT_TABLE, cfg["subnet"])
    return found


@pytest.fixture(scope="session")
def rc_session(rc_root: Path) -> RC:
    return RC(rc_root)


@pytest.fixture
def rc(rc_session: RC) -> Iterator[RC]:
    """The CLI; containers created during the test are removed after it, pass or fail."""
    before = set(rc_session.ids())
    yield rc_session
    for cid in set(rc_session.ids()) - before:
        rc_session("rm", "-f", cid, check=False, timeout=60)


@pytest.fixture(scope="session")
def base_image(rc_session: RC) -> str:
    """debian:bookworm with the default packages (systemd, dbus, procps, iproute2), cached."""
    rc_session("image", "bootstrap", "debian:bookworm", timeout=1800)
    return "debian:bookworm"


RICH_PACKAGES = "openssh-server,cron,iputils-ping,python3"


@pytest.fixture(scope="session")
def rich_image(rc_session: RC):
    """Factory: a systemd guest of SUITE with sshd, cron, ping and python3 (debootstrap, cached)."""
    made: dict[str, str] = {}

    def make(suite: str = "bookworm") -> str:
        if suite not in made:
            tag = f"rich-{suite}"
            rc_session("image", "bootstrap", "--include", RICH_PACKAGES, "--tag", tag, f"debian:{suite}",
                       timeout=1800)
            made[suite] = tag
        return made[suite]

    return make


@pytest.fixture(scope="session")
def sysv_image(rc_session: RC) -> str:
    """A sysvinit Debian guest (sysvinit-core instead of systemd) with cron and sshd."""
    rc_session("image", "bootstrap", "--include", "sysvinit-core,cron,openssh-server", "--tag", "sysv-bookworm",
               "debian:bookworm", timeout=1800)
    return "sysv-bookworm"
