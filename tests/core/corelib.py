"""tests/core helpers and fixtures: leftovers checks, one-line error checks, polling.

Containers are made through the shared `rc` fixture (tests/conftest.py), which removes what a
test created; the helpers here check that nothing else is left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hooks.network import veth_name  # noqa: E402
from richcontainer.networks import network_configs, network_leases  # noqa: E402
from richcontainer.paths import StorePaths  # noqa: E402

CGROUP_BASE = Path("/sys/fs/cgroup")


def wait_until(pred: Callable[[], object], timeout: float = 20, interval: float = 0.1) -> object:
    """Poll PRED until it returns something truthy; fail the test after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {getattr(pred, '__name__', pred)}")
        time.sleep(interval)


def mounts_under(path: Path) -> list[str]:
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == str(path) or mp.startswith(str(path) + "/"):
                out.append(mp)
    return out


def runc_list(paths: StorePaths) -> list[dict]:
    root = paths.runc_root
    if not root.exists():
        return []
    p = subprocess.run(["runc", "--root", str(root), "list", "--format", "json"], capture_output=True,
                       text=True, timeout=30, check=True)
    return json.loads(p.stdout or "null") or []


def cgroup_dirs(cid: str) -> list[Path]:
    found = []
    for ctrl in CGROUP_BASE.iterdir():
        d = ctrl / "richcontainer" / cid
        if d.is_dir():
            found.append(d)
    return found


def assert_clean(rc, cid: str) -> None:  # noqa: ANN001
    """Nothing of container CID is left: no mount, runc container, cgroup dir, container dir."""
    paths = StorePaths(rc.root)
    cdir = paths.container_dir(cid)
    assert not mounts_under(cdir), f"mounts left: {mounts_under(cdir)}"
    assert cid not in [c["id"] for c in runc_list(paths)], "runc still knows the container"
    assert not (paths.runc_root / cid).exists(), "runtime state dir left"
    assert not cgroup_dirs(cid), f"cgroup dirs left: {cgroup_dirs(cid)}"
    assert not cdir.exists(), "container dir left"
    assert cid not in rc.ids()
    assert not (paths.exits / cid).exists(), "exit file left"
    root = str(paths.root)
    leased = [cfg["name"] for cfg in network_configs(root) if cid in network_leases(root, cfg["name"])]
    assert not leased, f"network lease left in {leased}"
    assert not Path("/sys/class/net", veth_name(cid)).exists(), "host veth left"
    # conmon's exit command may still be running: give it a moment, then no lock file may remain
    lock = paths.locks / f"{cid}.lock"
    deadline = time.monotonic() + 5
    while lock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not lock.exists(), "lock file left"


def assert_one_error(p: subprocess.CompletedProcess[str], *, code: int | None = None) -> str:
    """Non-zero exit, no traceback, one clear stderr line (plus an optional `hint:` line)."""
    assert p.returncode != 0, f"expected failure, got 0: {p.stdout!r} {p.stderr!r}"
    if code is not None:
        assert p.returncode == code, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines, "no error message on stderr"
    extra = [ln for ln in lines[1:] if not ln.strip().startswith("hint:")]
    assert len(lines) <= 2 and not extra, f"more than one error line: {p.stderr!r}"
    assert len(lines[0]) < 400, lines[0]
    assert "internal error" not in lines[0], lines[0]
    return lines[0]


class StoreSnapshot:
    """What exists in a store, to compare before/after a command that must leave nothing."""

    def __init__(self, root: Path) -> None:
        self.paths = StorePaths(root)
        self.containers = self._ls(self.paths.containers)
        self.images = self._ls(self.paths.images)
        self.names = self._ls(self.paths.names)
        self.mounts = mounts_under(root)
        self.runc = [c["id"] for c in runc_list(self.paths)]

    @staticmethod
    def _ls(d: Path) -> set[str]:
        return set(os.listdir(d)) if d.is_dir() else set()

    def assert_unchanged(self) -> None:
        now = StoreSnapshot(self.paths.root)
        assert now.containers == self.containers, f"container dirs changed: {now.containers ^ self.containers}"
        assert now.images == self.images, f"image dirs changed: {now.images ^ self.images}"
        assert now.names == self.names, f"names changed: {now.names ^ self.names}"
        assert now.mounts == self.mounts, f"mounts changed: {set(now.mounts) ^ set(self.mounts)}"
        assert now.runc == self.runc, "runc containers changed"
        tmp = self.paths.tmp
        assert not (tmp.is_dir() and os.listdir(tmp)), f"store tmp/ not empty: {os.listdir(tmp)}"


@pytest.fixture
def snapshot(rc) -> Callable[[], StoreSnapshot]:  # noqa: ANN001
    """Call it to take a snapshot of the store (after any setup the test does)."""
    return lambda: StoreSnapshot(rc.root)


@pytest.fixture
def paths(rc) -> StorePaths:  # noqa: ANN001
    return StorePaths(rc.root)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A host directory for volumes and tarballs (removed by pytest's tmp_path handling)."""
    yield tmp_path


def read_cgroup(ctrl: str, cid: str, fname: str) -> str:
    return (CGROUP_BASE / ctrl / "richcontainer" / cid / fname).read_text().strip()


def ps_json(rc, all_: bool = True) -> dict[str, dict]:  # noqa: ANN001
    args = ["ps", "--format", "json"] + (["-a"] if all_ else [])
    return {c["Names"]: c for c in json.loads(rc(*args).stdout)}


def proc_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def rc_argv() -> list[str]:
    """The CLI as the shared `rc` fixture runs it (installed thin client, else the module)."""
    exe = Path(sys.executable).parent / "richcontainer"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "richcontainer"]
