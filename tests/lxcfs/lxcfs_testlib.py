"""Helpers for the lxcfs_py tests and bench: test cgroups, FUSE daemons, pid-namespace readers.

Everything started here is stopped by PID and everything created is removed by the caller's
finalizers (see conftest.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from lxcfs_py import mounts  # noqa: E402
from lxcfs_py.cgroup import Cgroups  # noqa: E402

CONTROLLERS = ("memory", "cpuset", "cpu", "cpuacct", "blkio")


class ScratchCgroup:
    """A cgroup made in every needed v1 hierarchy (or in cgroup2 on a unified host)."""

    def __init__(self, memory: int | None = None, cpus: str | None = None,
                 quota: int | None = None, period: int = 100000) -> None:
        self.name = f"lxcfs_py_test_{uuid.uuid4().hex[:10]}"
        self.cg = Cgroups()
        self.dirs: list[str] = []
        if "memory" in self.cg.v1:
            for c in CONTROLLERS:
                base = self.cg.v1.get(c)
                if base is None:
                    continue
                d = os.path.join(base, self.name)
                if d not in self.dirs:
                    os.mkdir(d)
                    self.dirs.append(d)
            cs = os.path.join(self.cg.v1["cpuset"], self.name)
            _write(os.path.join(cs, "cpuset.mems"), _read(os.path.join(self.cg.v1["cpuset"], "cpuset.mems")))
            _write(os.path.join(cs, "cpuset.cpus"), cpus or _read(os.path.join(self.cg.v1["cpuset"], "cpuset.cpus")))
            if memory:
                _write(os.path.join(self.cg.v1["memory"], self.name, "memory.limit_in_bytes"), str(memory))
            if quota:
                cpu = os.path.join(self.cg.v1["cpu"], self.name)
                _write(os.path.join(cpu, "cpu.cfs_period_us"), str(period))
                _write(os.path.join(cpu, "cpu.cfs_quota_us"), str(quota))
        else:
            root = self.cg.v2
            _write(os.path.join(root, "cgroup.subtree_control"), "+memory +cpuset +cpu +io")
            d = os.path.join(root, self.name)
            os.mkdir(d)
            self.dirs.append(d)
            if cpus:
                _write(os.path.join(d, "cpuset.cpus"), cpus)
            if memory:
                _write(os.path.join(d, "memory.max"), str(memory))
            if quota:
                _write(os.path.join(d, "cpu.max"), f"{quota} {period}")
        self.path = "/" + self.name

    def join(self, pid: int | None = None) -> None:
        """Move PID (default: the calling process) into this cgroup everywhere."""
        pid = pid or os.getpid()
        for d in self.dirs:
            _write(os.path.join(d, "cgroup.procs"), str(pid))

    def procs(self) -> list[int]:
        out: set[int] = set()
        for d in self.dirs:
            out.update(int(x) for x in (_read(os.path.join(d, "cgroup.procs")) or "").split())
        return sorted(out)

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def _read(p: str) -> str:
    with open(p) as f:
        return f.read().strip()


def _write(p: str, v: str) -> None:
    with open(p, "w") as f:
        f.write(v)


class Daemon:
    """A FUSE daemon (Debian lxcfs or lxcfs_py) on MOUNT, stopped by PID."""

    def __init__(self, argv: list[str], mount: str, fstype: str) -> None:
        os.makedirs(mount, exist_ok=True)
        self.mount = mount
        self.fstype = fstype
        self.log = open(mount.rstrip("/") + ".log", "wb")
        self.proc = subprocess.Popen(argv + [mount], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=_env())
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if any(m == os.path.realpath(mount) and t == fstype for m, t, _ in mounts.mountinfo()):
                try:
                    os.stat(os.path.join(mount, "proc/meminfo"))
                    return
                except OSError:
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{argv} did not mount {mount}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        real = os.path.realpath(self.mount)
        for _ in range(4):
            if not any(m == real and t == self.fstype for m, t, _ in mounts.mountinfo()):
                break
            try:
                mounts.umount_lazy(real)
            except OSError:
                break
        self.log.close()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def lxcfs_py(mount: str, *args: str) -> Daemon:
    return Daemon([sys.executable, "-m", "lxcfs_py", "--foreground", *args], mount, mounts.FSTYPE)


def debian_lxcfs(mount: str, *args: str) -> Daemon:
    # own pidfile: lxcfs refuses to start while another instance holds /run/lxcfs.pid
    return Daemon(["/usr/bin/lxcfs", "-p", mount.rstrip("/") + ".pid", *args], mount, "fuse.lxcfs")


READER = r"""
import os, sys, json
out = {}
for p in sys.argv[1:]:
    try:
        with open(p, 'rb', buffering=0) as f:
            out[p] = f.read().decode()
    except OSError as e:
        out[p] = 'ERROR ' + str(e)
print(json.dumps(out))
"""


def read_in_pidns(cg: ScratchCgroup, paths: list[str], timeout: float = 30) -> dict[str, str]:
    """Read PATHS from a process in a new pid namespace placed in CG (a container-like
    caller: both lxcfs and lxcfs_py look up the init of the caller's pid namespace)."""
    argv = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", READER, *paths]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       preexec_fn=cg.join, check=True)
    return json.loads(r.stdout)


def have_lxcfs() -> bool:
    return os.access("/usr/bin/lxcfs", os.X_OK)


def can_fuse() -> bool:
    return os.geteuid() == 0 and os.path.exists("/dev/fuse")


class RuncContainers:
    """Busybox containers under raw runc with their own --root; delete_all() removes them."""

    def __init__(self, workdir: str) -> None:
        sys.path.insert(0, str(REPO / "tests"))
        from imagecache import busybox_rootfs
        self.workdir = Path(workdir)
        self.root = self.workdir / "runc-root"
        self.rootfs = busybox_rootfs(self.workdir / "rootfs")
        self.ids: list[str] = []

    def run(self, mounts_: list[dict], memory: int | None = None, cpus: str | None = None,
            quota: int | None = None, period: int = 100000) -> str:
        cid = f"lxcfspy-{uuid.uuid4().hex[:8]}"
        bundle = self.workdir / cid
        bundle.mkdir()
        subprocess.run(["runc", "spec"], cwd=bundle, check=True, timeout=30)
        cfg = json.loads((bundle / "config.json").read_text())
        cfg["root"] = {"path": str(self.rootfs), "readonly": True}
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["sleep", "100000"]
        cfg["hostname"] = cid
        res: dict = {}
        if memory:
            res["memory"] = {"limit": memory}
        cpu: dict = {}
        if cpus:
            cpu["cpus"] = cpus
        if quota:
            cpu["quota"] = quota
            cpu["period"] = period
        if cpu:
            res["cpu"] = cpu
        cfg["linux"]["resources"] = res
        cfg["linux"]["cgroupsPath"] = f"/{cid}"
        cfg["mounts"] += mounts_
        (bundle / "config.json").write_text(json.dumps(cfg))
        self.ids.append(cid)
        # the container inherits these fds: a file, never a pipe (runc would never see EOF)
        with open(bundle / "runc.log", "wb") as log:
            r = subprocess.run(["runc", "--root", str(self.root), "run", "-d", "-b", str(bundle),
                                cid], timeout=60, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if r.returncode != 0:
            raise RuntimeError((bundle / "runc.log").read_text())
        return cid

    def exec(self, cid: str, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
        return subprocess.run(["runc", "--root", str(self.root), "exec", cid, *argv],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def init_pid(self, cid: str) -> int:
        r = subprocess.run(["runc", "--root", str(self.root), "state", cid], capture_output=True,
                           text=True, timeout=20, check=True)
        return int(json.loads(r.stdout)["pid"])

    def delete_all(self) -> None:
        for cid in self.ids:
            subprocess.run(["runc", "--root", str(self.root), "delete", "-f", cid],
                           capture_output=True, timeout=60)
        self.ids.clear()


def have_runc() -> bool:
    import shutil
    return bool(shutil.which("runc")) and os.path.exists("/bin/busybox")
