"""Old hosts end to end, through richcontainer itself: the CLI runs under the old-kernel emulation
harness (python -m compat.emulate --profile el6|el7), so do its monitor and runtime.

el6: `check` reports the 2.6 profile, the planner picks the legacy backend (rclegacy + rcmon), a
sysvinit Debian guest boots with --init sbin-init, exec goes through the agent, stop/rm leave
nothing behind. The same lifecycle on the real kernel picks runc. el7: a systemd guest boots to
`running` with the degraded spec (no cgroup namespace: only its own name=systemd subtree writable).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _rc_argv() -> list[str]:
    exe = Path(sys.executable).parent / "richcontainer"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "richcontainer"]


def _need_harness(profile: str | None) -> None:
    if profile is None:
        return
    if os.uname().machine != "x86_64":
        pytest.skip("the emulation filter is written for x86_64")
    if profile == "el6" and shutil.which("setarch") is None:
        pytest.skip("setarch (util-linux) is missing")


def cli(rc, profile: str | None, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """The richcontainer CLI against RC's store; under PROFILE's emulation harness unless None.
    The forkserver is off so the whole CLI (and the monitor and runtime it starts) is filtered."""
    argv = [*_rc_argv(), *args]
    if profile:
        argv = [sys.executable, "-m", "compat.emulate", "--profile", profile, "--", *argv]
    p = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       env={**rc.env, "RICHCONTAINER_FORKSERVER": "0"})
    if check and p.returncode != 0:
        raise AssertionError(f"[{profile}] richcontainer {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def state_of(rc, name: str) -> dict:
    return rc.inspect(name)


def wait_until(pred, timeout: float, what: str):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")


def runtime_root(rc) -> Path:
    from richcontainer.paths import StorePaths

    return StorePaths(rc.root).runc_root


def sockets_dir(rc) -> Path:
    from richcontainer.paths import StorePaths

    return StorePaths(rc.root).sockets


def leftovers(rc, cid: str, pids: list[int]) -> list[str]:
    """Mounts, cgroups, processes and state directories of container CID that still exist."""
    found = []
    with open("/proc/self/mountinfo") as fh:
        found += [f"mount {line.split()[4]}" for line in fh if cid in line]
    for base in Path("/sys/fs/cgroup").iterdir():
        for sub in ("richcontainer", "rclegacy"):
            if (base / sub / cid).exists():
                found.append(f"cgroup {base / sub / cid}")
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat[stat.rfind(")") + 2] not in "ZX":
                found.append(f"process {pid}: {Path(f'/proc/{pid}/cmdline').read_bytes()[:80]!r}")
    for d in (runtime_root(rc) / cid, rc.root / "containers" / cid, sockets_dir(rc) / cid):
        if os.path.lexists(d):
            found.append(f"state {d}")
    return found


def _pids_of(rc, st: dict) -> list[int]:
    pids = [int(st.get("pid") or 0), int(st.get("monitor_pid") or 0)]
    return [p for p in pids if p > 0]


# ----- el6: check -------------------------------------------------------------------------------

def test_el6_check_reports_the_26_profile(rc):  # noqa: ANN001
    _need_harness("el6")
    doc = json.loads(cli(rc, "el6", "check", "--format", "json").stdout)
    assert doc["kernel"].startswith("2.6."), doc["kernel"]
    assert doc["ok"] and doc["backend"] == "legacy"
    feats = doc["facts"]["features"]
    assert feats["ns.pid.unshare"] is False and feats["ns.mnt.setns"] is False and feats["ns.pid.clone"] is True
    assert feats["sys.child_subreaper"] is False and feats["sys.memfd_create"] is False
    assert any("using the legacy backend" in w for w in doc["warnings"])
    table = cli(rc, "el6", "check").stdout
    assert "default plan: backend legacy" in table and "kernel 2.6." in table
    real = json.loads(cli(rc, None, "check", "--format", "json").stdout)
    assert real["backend"] in ("runc", "crun") and not real["kernel"].startswith("2.6.")


# ----- sysvinit guest: el6 (legacy backend) and the real kernel (runc) -------------------------

@pytest.mark.parametrize("profile,backend", [("el6", "legacy"), (None, "runc")], ids=["el6-legacy", "real-runc"])
def test_sysvinit_guest_lifecycle(rc, sysv_image, profile, backend):  # noqa: ANN001
    _need_harness(profile)
    name = f"e2e-sysv-{profile or 'real'}"
    cid = cli(rc, profile, "run", "-d", "--name", name, "--init", "sbin-init", "--network", "none",
              "--stop-timeout", "20", sysv_image).stdout.strip().splitlines()[-1]
    pids: list[int] = []
    try:
        st = state_of(rc, name)
        pids = _pids_of(rc, st)
        assert st["plan"]["backend"] == backend
        assert st["runtime_path"].endswith("rclegacy.py") == (backend == "legacy")
        if backend == "legacy":
            assert st["plan"]["cgroupns"] is False and st["plan"]["seccomp"] is False
            assert Path(f"/proc/{st['monitor_pid']}/cmdline").read_bytes().find(b"rcmon.py") > 0
        # sysvinit reaches runlevel 2 (rc scripts done)
        wait_until(lambda: cli(rc, profile, "exec", name, "runlevel", check=False).stdout.strip().endswith("2"),
                   60, "runlevel 2")
        assert cli(rc, profile, "exec", name, "cat", "/proc/1/comm").stdout.strip() == "init"
        ps = cli(rc, profile, "exec", name, "ps", "-eo", "comm").stdout.split()
        assert "cron" in ps and "sshd" in ps, ps
        out = cli(rc, profile, "exec", "-e", "FOO=bar", "-u", "nobody", "-w", "/tmp", name,
                  "sh", "-c", 'echo "$FOO $(id -u) $(pwd)"; exit 3', check=False)
        assert out.returncode == 3 and out.stdout.strip() == "bar 65534 /tmp", out
        assert cli(rc, profile, "exec", name, "hostname").stdout.strip() == cid[:12]
        # the console (pty from the runtime) reaches the log
        wait_until(lambda: "login:" in cli(rc, None, "logs", name).stdout, 30, "getty on the console")
        t0 = time.monotonic()
        cli(rc, profile, "stop", name, timeout=60)
        took = time.monotonic() - t0
        assert state_of(rc, name)["status"] == "exited"
        assert took < 15, f"stop took {took:.1f}s (halt not detected?)"
        cli(rc, profile, "rm", name)
        assert leftovers(rc, cid, pids) == []
    finally:
        if name in [c["Names"] for c in json.loads(rc("ps", "-a", "--format", "json").stdout)]:
            cli(rc, profile, "rm", "-f", name, check=False)


# ----- el7: systemd guest with the degraded spec -----------------------------------------------

def test_el7_systemd_guest_boots_degraded(rc, rich_image):  # noqa: ANN001
    _need_harness("el7")
    if not Path("/sys/fs/cgroup/systemd").is_dir():
        pytest.skip("host has no name=systemd cgroup v1 hierarchy (the EL7-like layout needs one)")
    image = rich_image("bookworm")
    name = "e2e-el7-systemd"
    cid = cli(rc, "el7", "run", "-d", "--name", name, "--init", "systemd", "--network", "none",
              image).stdout.strip().splitlines()[-1]
    pids: list[int] = []
    try:
        st = state_of(rc, name)
        pids = _pids_of(rc, st)
        plan = st["plan"]
        assert plan["backend"] == "runc" and plan["cgroupns"] is False and plan["seccomp"] is True
        assert any("cgroup namespace missing" in w for w in st["warnings"])
        spec = json.loads((rc.root / "containers" / cid / "bundle" / "config.json").read_text())
        assert "cgroup" not in [n["type"] for n in spec["linux"]["namespaces"]]
        state = wait_until(lambda: cli(rc, "el7", "exec", name, "systemctl", "is-system-running",
                                       check=False).stdout.strip() in ("running", "degraded") and
                           cli(rc, "el7", "exec", name, "systemctl", "is-system-running", check=False).stdout.strip(),
                           90, "systemd to finish booting")
        failed = cli(rc, "el7", "exec", name, "systemctl", "--failed", "--no-legend", check=False).stdout
        assert state == "running", failed
        assert st["status"] == "running" or state_of(rc, name)["status"] == "running"
        own = f"/sys/fs/cgroup/systemd/richcontainer/{cid}"
        probe = cli(rc, "el7", "exec", name, "sh", "-c",
                    f"test -d {own}/init.scope && echo own-subtree;"
                    "ls /sys/fs/cgroup/systemd; ls /sys/fs/cgroup/systemd/richcontainer;"
                    "echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || echo memory-ro;"
                    "mkdir /sys/fs/cgroup/pids/x 2>/dev/null || echo pids-ro", check=False).stdout.split()
        assert probe == ["own-subtree", "richcontainer", cid, "memory-ro", "pids-ro"], probe
        cli(rc, "el7", "stop", name, timeout=90)
        cli(rc, "el7", "rm", name)
        assert leftovers(rc, cid, pids) == []
    finally:
        if name in [c["Names"] for c in json.loads(rc("ps", "-a", "--format", "json").stdout)]:
            cli(rc, "el7", "rm", "-f", name, check=False)
