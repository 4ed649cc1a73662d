"""`vagrant validate` passes offline for every box under vagrant/ (skips if vagrant is absent).

--ignore-provider: this host may have no usable provider (no VirtualBox, no vagrant-libvirt);
the boxes' own config is what is checked."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

VAGRANT_DIR = Path(__file__).resolve().parents[2] / "vagrant"
BOXES = ("centos6", "centos7", "debian12")


@pytest.fixture(scope="module")
def vagrant_copy(tmp_path_factory) -> Path:
    if shutil.which("vagrant") is None:
        pytest.skip("vagrant is not installed (apt-get install vagrant)")
    base = tmp_path_factory.mktemp("vagrant")
    shutil.copytree(VAGRANT_DIR, base / "vagrant", ignore=shutil.ignore_patterns(".vagrant"))
    return base


@pytest.mark.parametrize("box", BOXES)
def test_vagrant_validate(vagrant_copy, box):
    env = dict(os.environ, VAGRANT_HOME=os.fspath(vagrant_copy / "home"), VAGRANT_CHECKPOINT_DISABLE="1",
               VAGRANT_NO_COLOR="1")
    out = subprocess.run(["vagrant", "validate", "--ignore-provider"], cwd=vagrant_copy / "vagrant" / box, env=env,
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "validated successfully" in out.stdout


@pytest.mark.parametrize("box,expected", [("centos6", "6.10"), ("centos7", "7.9.2009")])
def test_el_boxes_use_the_pinned_vault(box, expected):
    provision = (VAGRANT_DIR / "provision" / ("el6.sh" if box == "centos6" else "el7.sh")).read_text()
    assert f"el-vault.sh {expected}" in provision
    vault = (VAGRANT_DIR / "provision" / "el-vault.sh").read_text()
    assert "http://vault.centos.org/$release/" in vault and "mirrorlist" in vault


def test_provision_scripts_parse():
    for script in sorted((VAGRANT_DIR / "provision").glob("*.sh")):
        out = subprocess.run(["bash", "-n", os.fspath(script)], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, f"{script.name}: {out.stderr}"
