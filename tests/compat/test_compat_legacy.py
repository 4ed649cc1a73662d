"""The legacy runtime (compat/legacy/rclegacy.py): runc's contract on busybox and Debian sysvinit
rootfs, natively and under the el6 emulation profile; nothing may be left behind."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from compatfixtures import imagecache

REPO = Path(__file__).resolve().parents[2]
RCLEGACY = REPO / "compat" / "legacy" / "rclegacy.py"

MOUNTS = [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
]


def bundle_config(args: list[str], hostname: str = "legacy") -> dict:
    return {"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "hostname": hostname, "mounts": MOUNTS,
            "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args, "cwd": "/",
                        "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "container=rclegacy"]},
            "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "uts", "ipc", "network")],
                      "resources": {"memory": {"limit": 256 << 20}, "pids": {"limit": 200}},
                      "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}}


class Legacy:
    """Runs rclegacy with its own --root, optionally under the el6 emulation profile."""

    def __init__(self, root: Path, profile: str | None):
        self.root, self.profile = root, profile
        self.created: list[str] = []

    def argv(self, *args: str) -> list[str]:
        base = [sys.executable, os.fspath(RCLEGACY), "--root", os.fspath(self.root), *args]
        if self.profile:
            base = [sys.executable, "-m", "compat.emulate", "--profile", self.profile, "--", *base]
        return base

    def run(self, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        out = subprocess.run(self.argv(*args), cwd=REPO, capture_output=True, text=True, timeout=60, **kw)
        if check:
            assert out.returncode == 0, f"rclegacy {args}: {out.stderr}"
        return out

    def state(self, cid: str) -> dict:
        return json.loads(self.run("state", cid).stdout)

    def create(self, cid: str, bundle: Path, log: Path) -> None:
        # The container inherits create's stdio (as with runc): files, not pipes we would wait on.
        with open(log, "w") as fh:
            out = subprocess.run(self.argv("create", "--bundle", os.fspath(bundle), cid), cwd=REPO,
                                 stdout=fh, stderr=fh, stdin=subprocess.DEVNULL, timeout=60)
        assert out.returncode == 0, log.read_text()
        self.created.append(cid)

    def cleanup(self) -> None:
        for cid in self.created:
            subprocess.run(self.argv("delete", "--force", cid), cwd=REPO, capture_output=True, timeout=60)


def leftovers(cid: str, bundle: Path, pid: int) -> list[str]:
    found = []
    with open("/proc/self/mountinfo") as fh:
        found += [l for l in fh if os.fspath(bundle) in l]
    for base in ("/sys/fs/cgroup", "/cgroup"):
        if os.path.isdir(base):
            for ctrl in os.listdir(base):
                if os.path.isdir(os.path.join(base, ctrl, "rclegacy", cid)):
                    found.append(f"cgroup {ctrl}/rclegacy/{cid}")
    if os.path.exists(f"/proc/{pid}"):
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().split(") ")[1][0] not in "ZX":
                found.append(f"process {pid}")
    return found


def require_root():
    if os.geteuid() != 0:
        pytest.skip("the legacy runtime needs root (clone with namespaces, mount, cgroups)")


@pytest.fixture(params=[None, "el6"], ids=["native", "el6-emulated"])
def legacy(request, tmp_path):
    require_root()
    if request.param == "el6" and (os.uname().machine != "x86_64" or shutil.which("setarch") is None):
        pytest.skip("el6 emulation needs x86_64 and setarch")
    rt = Legacy(tmp_path / "state", request.param)
    yield rt
    rt.cleanup()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.integration
def test_busybox_lifecycle(legacy, tmp_path):
    if not os.path.exists("/bin/busybox"):
        pytest.skip("busybox-static is not installed")
    bundle = tmp_path / "bundle"
    imagecache().busybox_rootfs(bundle / "rootfs")
    (bundle / "config.json").write_text(json.dumps(bundle_config(
        ["/bin/sh", "-c", "echo hello from $(hostname); exec sleep 1000"])))
    log = tmp_path / "init.log"
    legacy.create("c1", bundle, log)
    st = legacy.state("c1")
    assert st["status"] == "created" and st["pid"] > 0 and st["bundle"] == os.fspath(bundle)
    pid = st["pid"]
    legacy.run("start", "c1")
    assert legacy.state("c1")["status"] == "running"
    wait_for(lambda: "hello from legacy" in log.read_text())

    out = legacy.run("exec", "c1", "sh", "-c", "cat /proc/1/comm; hostname; echo oops >&2; exit 7", check=False)
    assert out.returncode == 7
    assert out.stdout.split() == ["sleep", "legacy"] and out.stderr.strip() == "oops"
    out = legacy.run("exec", "c1", "cat", "/proc/self/cgroup")
    assert "/rclegacy/c1" in out.stdout
    pidfile = tmp_path / "exec.pid"
    # A detached command keeps the stdio it was given (as with runc): not our pipes.
    out = subprocess.run(legacy.argv("exec", "--detach", "--pid-file", os.fspath(pidfile), "c1", "sleep", "300"),
                         cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         timeout=60)
    assert out.returncode == 0
    exec_pid = int(pidfile.read_text())
    with open(f"/proc/{exec_pid}/cmdline") as fh:
        assert fh.read().split("\0")[:2] == ["sleep", "300"]  # a host pid, translated by the kernel

    assert "not stopped" in legacy.run("delete", "c1", check=False).stderr
    legacy.run("kill", "c1", "KILL")
    wait_for(lambda: legacy.state("c1")["status"] == "stopped")
    legacy.run("delete", "c1")
    assert not (legacy.root / "c1").exists()
    assert leftovers("c1", bundle, pid) == []
    assert not os.path.exists(f"/proc/{exec_pid}/cmdline") or open(f"/proc/{exec_pid}/stat").read().split(") ")[1][0] in "ZX"
    assert "does not exist" in legacy.run("state", "c1", check=False).stderr


@pytest.mark.integration
def test_errors_are_one_line(legacy, tmp_path):
    out = legacy.run("state", "nope", check=False)
    assert out.returncode == 1 and out.stderr == "rclegacy: container nope does not exist\n"
    bundle = tmp_path / "b"
    (bundle / "rootfs").mkdir(parents=True)
    cfg = bundle_config(["/bin/true"])
    cfg["process"]["terminal"] = True
    (bundle / "config.json").write_text(json.dumps(cfg))
    out = legacy.run("create", "--bundle", os.fspath(bundle), "t1", check=False)
    assert out.returncode == 1 and out.stderr == "rclegacy: process.terminal needs --console-socket\n"
    assert not (legacy.root / "t1").exists()


@pytest.mark.integration
@pytest.mark.slow
def test_debian_sysvinit_guest(legacy, tmp_path):
    src = imagecache().cached_rootfs("bookworm", ["sysvinit-core"])  # built once, cached by recipe
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    subprocess.run(["cp", "-a", os.fspath(src), os.fspath(bundle / "rootfs")], check=True, timeout=600)
    (bundle / "config.json").write_text(json.dumps(bundle_config(["/sbin/init"], hostname="sysv")))
    legacy.create("deb", bundle, tmp_path / "init.log")
    pid = legacy.state("deb")["pid"]
    legacy.run("start", "deb")
    out = legacy.run("exec", "deb", "cat", "/proc/1/comm")
    assert out.stdout.strip() == "init"
    wait_for(lambda: legacy.run("exec", "deb", "/sbin/runlevel", check=False).stdout.strip().endswith("2"), 30)
    legacy.run("delete", "--force", "deb")
    assert leftovers("deb", bundle, pid) == []


def test_legacy_code_stays_python34_compatible():
    """No f-strings, annotations, walrus, async or other syntax newer than Python 3.4."""
    for path in sorted((REPO / "compat" / "legacy").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=os.fspath(path))
        for node in ast.walk(tree):
            bad = isinstance(node, (ast.JoinedStr, ast.AnnAssign, ast.NamedExpr, ast.AsyncFunctionDef, ast.Await))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bad = bad or node.returns is not None or any(
                    a.annotation is not None for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs)
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                bad = True
            assert not bad, f"{path.name}:{getattr(node, 'lineno', '?')}: {type(node).__name__} needs Python > 3.4"
