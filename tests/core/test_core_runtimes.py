"""Other runc-compatible runtimes plug in with --runtime (crun here; any PATH)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def crun_refuses_this_host() -> str | None:
    """crun 1.8 (Debian 12) refuses hybrid hosts whose cgroup2 mount holds a controller."""
    unified = Path("/sys/fs/cgroup/unified/cgroup.controllers")
    if not unified.exists() or not unified.read_text().split():
        return None
    version = subprocess.run(["crun", "--version"], capture_output=True, text=True).stdout.split()
    if len(version) >= 3 and version[2].startswith("1.8"):
        return f"crun {version[2]} refuses this hybrid cgroup layout (cgroup2 holds {unified.read_text().strip()})"
    return None


@pytest.mark.skipif(shutil.which("crun") is None, reason="crun is not installed")
def test_crun_runs_a_container(rc, base_image):
    why = crun_refuses_this_host()
    if why:
        pytest.skip(why)
    out = rc("run", "--rm", "--network", "none", "--runtime", "crun", base_image, "echo", "from-crun").stdout
    assert out.strip() == "from-crun"
    rc("run", "-d", "--name", "cr", "--runtime", "crun", base_image, "sleep", "60")
    assert rc("exec", "cr", "echo", "ok").stdout.strip() == "ok"
    assert rc.inspect("cr")["runtime_path"].endswith("crun")


def test_runtime_by_path(rc, base_image):
    runc = shutil.which("runc")
    assert runc
    out = rc("run", "--rm", "--network", "none", "--runtime", runc, base_image, "echo", "by-path").stdout
    assert out.strip() == "by-path"


def test_unknown_runtime_is_one_clear_line(rc, base_image):
    p = rc("run", "--rm", "--runtime", "/nonexistent/runtime", base_image, "true", check=False)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert len([ln for ln in p.stderr.splitlines() if ln.strip() and not ln.strip().startswith("hint:")]) == 1
